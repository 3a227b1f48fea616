-- expect: tests/errors/near_global.lua:3: attempt to call a nil value (global 'rleu'); did you mean 'relu'?
local x = input("image", {3, 8, 8})
local y = rleu(x)
