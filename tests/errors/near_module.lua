-- expect: tests/errors/near_module.lua:5: attempt to call a nil value (global 'mfa'); did you mean 'drifa.mfa'?
-- a module's function called as if it were a builtin
local drifa = require "drifa"
local x = input("image", {3, 8, 8})
local y = mfa("m", x)
