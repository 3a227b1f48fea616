-- expect: tests/errors/reserved_grad.lua:3: output: the name "grad.w" starts with "grad.", which is kept for the gradients of training
local x = input("x", {4})
output("grad.w", relu(x))
