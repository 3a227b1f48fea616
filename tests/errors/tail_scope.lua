-- expect: tests/errors/tail_scope.lua:12: dense: input (flatten it first) must have rank 2, got [N,3,8,8] (in nn.dense)
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/tail_scope.lua:15: in the main chunk
-- expect-also:     tests/errors/tail_scope.lua:11: in stem
-- expect-also:     tests/errors/tail_scope.lua:12: in the function passed to scope (tail call)
-- The function passed to scope ends in a tail call into nn: it is still
-- named, and its line is the one the error names.
local nn = require "nn"
local x = input("image", {3, 8, 8})
local function stem(v)
  return scope("stem", function()
    return nn.dense("fc", v, 10)
  end)
end
local y = stem(x)
output("y", y)
