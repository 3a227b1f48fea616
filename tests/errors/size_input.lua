-- expect: tests/errors/size_input.lua:2: input: [N,1000000,1000000,1000000] has more than 2^48 elements per sample
local x = input("x", {1000000, 1000000, 1000000})
output("y", relu(x))
