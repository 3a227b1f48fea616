-- expect: tests/errors/duplicate_param.lua:6: param: duplicate name 'conv1.weight' (first made at tests/errors/duplicate_param.lua:5)
local nn = require "nn"
local x = input("image", {1, 28, 28})
-- the second layer reuses the first one's name
local y = nn.conv2d("conv1", x, 8, 3)
y = nn.conv2d("conv1", y, 8, 3)
