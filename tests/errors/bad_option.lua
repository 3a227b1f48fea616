-- expect: tests/errors/bad_option.lua:4: conv2d: unknown option 'strides' (options: stride, pad); did you mean 'stride'?
local x = input("image", {1, 28, 28})
local w = param("w", {8, 1, 3, 3})
local y = conv2d(x, w, nil, {strides = 2})
