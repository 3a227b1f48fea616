-- expect: tests/errors/tail_option.lua:12: nn.conv2d: unknown option 'padding' (options: bias, pad, stride); did you mean 'pad'?
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/tail_option.lua:17: in the main chunk
-- expect-also:     tests/errors/tail_option.lua:15: in block (tail call)
-- expect-also:     tests/errors/tail_option.lua:12: in conv_bn (tail call)
-- Helpers that end in "return f(...)" hand their frames to f (tail calls):
-- the error still names the innermost line of the user's (12, not 18), and
-- the chain keeps the lines whose frames the tail calls took.
local nn = require "nn"
local x = input("image", {1, 28, 28})
local function conv_bn(name, v, ch)
  return nn.conv2d(name, v, ch, 3, {padding = 1})
end
local function block(v)
  return conv_bn("c1", v, 8)
end
local y = block(x)
task("probs", nn.dense("fc", flatten(y), 10))
