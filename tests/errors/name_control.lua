-- expect: tests/errors/name_control.lua:3: param: the name "w
local x = input("x", {4})
local w = param("w\nb", {2, 4})
output("y", dense(x, w))
