-- expect: tests/errors/rra_option.lua:6: drifa.rra: unknown option 'bn_momentun' (options: bn_momentum, mfa); did you mean 'bn_momentum'?
local nn = require "nn"
local drifa = require "drifa"
local x = input("image", {3, 16, 16})
local y = nn.conv2d("stem", x, 8, 3, {pad = 1})
y = drifa.rra("b1", y, 8, 1, {bn_momentun = 0.2})
task("probs", nn.dense("fc", gavg(y), 3))
