-- expect: tests/errors/near_option_nn.lua:4: nn.conv2d: unknown option 'padding' (options: bias, pad, stride); did you mean 'pad'?
local nn = require "nn"
local x = input("image", {3, 8, 8})
local y = nn.conv2d("conv1", x, 8, 3, {padding = 1})
