-- expect: tests/errors/conv_nil.lua:5: conv2d: expected a tensor as argument 1, got nil
local x = input("image", {1, 28, 28})
local w = param("w", {8, 1, 3, 3})
local typo
local y = conv2d(typo, w, nil, {pad = 1})
output("y", y)
