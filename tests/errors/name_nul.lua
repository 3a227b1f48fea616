-- expect: tests/errors/name_nul.lua:3: param: a name contains a NUL byte
local x = input("x", {4})
local w = param("w\0hidden", {2, 4})
output("y", dense(x, w))
