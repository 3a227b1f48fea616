-- expect: tests/errors/surplus_nn.lua:5: nn.dense: surplus argument 5 (a number); nn.dense(name, x, out [, {bias=true}]) takes 3 to 4 arguments
local nn = require "nn"
local x = input("x", {16})
-- the fifth argument would have been ignored
local y = nn.dense("fc", x, 10, {}, 5)
