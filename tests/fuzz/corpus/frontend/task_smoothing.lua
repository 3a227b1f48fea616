-- expect: tests/errors/task_smoothing.lua:6: task: option 'smoothing' must be in [0, 1), got 1
-- defs: smoothing=1
local cfg = config{ smoothing = 0.1 }
local x = input("x", {4})
local w = param("w", {3, 4})
task("probs", dense(x, w), {smoothing = cfg.smoothing})
