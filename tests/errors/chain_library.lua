-- expect: tests/errors/chain_library.lua:10: dense: input (flatten it first) must have rank 2, got [N,8,8,8] (in nn.dense)
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/chain_library.lua:17: in the main chunk
-- expect-also:     tests/errors/chain_library.lua:14: in stem
-- expect-also:     tests/errors/chain_library.lua:10: in head
-- An error inside nn, called from a helper: the user's lines, not nn's.
local nn = require "nn"
local x = input("image", {3, 8, 8})
local function head(v)
  local logits = nn.dense("fc", v, 10)
  return logits
end
local function stem(v)
  local y = head(nn.conv2d("conv1", v, 8, 3, {pad = 1}))
  return y
end
local y = stem(x)
task("probs", y)
