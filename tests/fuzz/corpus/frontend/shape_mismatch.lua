-- expect: tests/errors/shape_mismatch.lua:5: add: shapes [N,3,8,8] and [N,4,8,8] do not broadcast
local a = input("a", {3, 8, 8})
local b = input("b", {4, 8, 8})
-- a comment line, so the error is not on the last line
local c = a + b
output("c", c)
