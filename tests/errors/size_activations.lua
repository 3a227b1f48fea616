-- expect: tests/errors/size_activations.lua:6: relu: the model's activations per sample reach 21474836480 bytes (20.0 GiB) here, over the limit of 16 GiB
local x = input("x", {1024, 1024, 1024})   -- 4 GiB per sample
local a = relu(x)
local b = relu(a)
local c = relu(b)
local d = relu(c)
output("y", d)
