-- expect: tests/errors/dropout_nan.lua:3: dropout: p must be in [0, 1), got
local x = input("x", {4})
local y = dropout(x, 0/0)
output("y", y)
