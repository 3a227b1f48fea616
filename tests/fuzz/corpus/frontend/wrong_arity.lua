-- expect: tests/errors/wrong_arity.lua:4: relu: expected 1 argument, got 2
local x = input("image", {1, 28, 28})
local y = sigmoid(x)
local z = relu(x, y)
output("y", z)
