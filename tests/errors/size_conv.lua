-- expect: tests/errors/size_conv.lua:4: param "c.weight": the model's parameters reach 108000000000 bytes (101 GiB) here, over the limit of 16 GiB (raise it with lunac --max-bytes SIZE)
local nn = require "nn"
local x = input("image", {3, 32, 32})
local y = nn.conv2d("c", x, 1000000000, 3)
output("y", y)
