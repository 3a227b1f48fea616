-- expect: tests/errors/unknown_define.lua:4: unknown -D key 'widht'
-- defs: widht=16
local nn = require "nn"
local cfg = config{ width = 8, classes = 10 }
local x = input("image", {1, 28, 28})
output("y", softmax(nn.dense("fc", flatten(x), cfg.classes)))
