-- expect: tests/errors/name_utf8.lua:3: task: the name "t\xff" is not valid UTF-8
local x = input("x", {4})
task("t\xff", dense(x, param("w", {3, 4})))
