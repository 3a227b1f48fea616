-- expect: tests/errors/wrong_arity.lua:4: relu: surplus argument 2 (a tensor); relu(x) takes 1 argument
local x = input("image", {1, 28, 28})
local y = sigmoid(x)
local z = relu(x, y)
output("y", z)
