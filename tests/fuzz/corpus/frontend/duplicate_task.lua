-- expect: tests/errors/duplicate_task.lua:7: task: duplicate task name 'head'
local x = input("x", {4})
local w1 = param("w1", {3, 4})
local w2 = param("w2", {5, 4})
task("head", dense(x, w1))
-- a second head needs its own name
task("head", dense(x, w2))
