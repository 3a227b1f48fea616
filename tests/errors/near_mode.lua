-- expect: tests/errors/near_mode.lua:3: dropout: unknown mode "trian" (modes: off, train, mc); did you mean 'train'?
local x = input("x", {4})
local y = dropout(x, 0.5, "trian")
