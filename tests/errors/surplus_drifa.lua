-- expect: tests/errors/surplus_drifa.lua:4: drifa.mfa: surplus argument 3 (a number); drifa.mfa(name, x) takes 2 arguments
local drifa = require "drifa"
local x = input("image", {4, 8, 8})
local y = drifa.mfa("m", x, 4)
