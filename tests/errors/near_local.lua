-- expect: tests/errors/near_local.lua:5: attempt to index a nil value (global 'dirfa'); did you mean 'drifa'?
-- the local variable holding the module, misspelt
local drifa = require "drifa"
local x = input("image", {3, 8, 8})
local y = dirfa.mfa("m", x)
