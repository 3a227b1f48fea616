-- expect: tests/errors/near_nn_field.lua:4: nn has no field 'conv' (fields: avgpool, batchnorm, conv2d, dense, flatten, maxpool); did you mean 'nn.conv2d'?
local nn = require "nn"
local x = input("image", {3, 8, 8})
local y = nn.conv("conv1", x, 8, 3)
