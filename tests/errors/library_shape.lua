-- expect: tests/errors/library_shape.lua:5: dense: input (flatten it first) must have rank 2, got [N,8,28,28] (in nn.dense)
local nn = require "nn"
local x = input("image", {1, 28, 28})
local y = nn.conv2d("conv1", x, 8, 3, {pad = 1})
local z = nn.dense("fc", y, 10)
