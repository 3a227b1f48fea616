-- expect: tests/errors/reserved_hyper.lua:2: input: the name "hyper.lr" starts with "hyper.", which is kept for the training hyper-parameters
local x = input("hyper.lr", {4})
output("y", relu(x))
