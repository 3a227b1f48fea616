-- expect: tests/errors/near_nn_builtin.lua:4: nn has no field 'gavg' (fields: avgpool, batchnorm, conv2d, dense, flatten, maxpool); did you mean 'gavg' (a builtin, not in nn)?
local nn = require "nn"
local x = input("image", {3, 8, 8})
local y = nn.gavg(x)
