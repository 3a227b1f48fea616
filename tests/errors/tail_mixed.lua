-- expect: tests/errors/tail_mixed.lua:9: dense: input (flatten it first) must have rank 2, got [N,3,8,8] (in nn.dense)
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/tail_mixed.lua:23: in the main chunk
-- expect-also:     tests/errors/tail_mixed.lua:20: in model (tail call)
-- expect-also:     tests/errors/tail_mixed.lua:16: in net
-- expect-also:     tests/errors/tail_mixed.lua:13: in stage (tail call)
-- expect-also:     tests/errors/tail_mixed.lua:9: in unit (tail call)
local nn = require "nn"
local function unit(name, v) return nn.dense(name, v, 10) end
-- Tail calls and ordinary ones mixed: each line once, in order.
local function stage(name, v)
  local y = relu(v)
  return unit(name, y)
end
local function net(v)
  local z = stage("s1", v)
  return z
end
local function model(v)
  return net(v)
end
local x = input("image", {3, 8, 8})
task("probs", model(x))
