-- expect: tests/errors/tail_recursion.lua:10: relu: surplus argument 2 (a number); relu(x) takes 1 argument
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/tail_recursion.lua:18: in the main chunk
-- expect-also:     tests/errors/tail_recursion.lua:15: in net
-- expect-also:     tests/errors/tail_recursion.lua:12: in deepen (tail call, 50 times)
-- expect-also:     tests/errors/tail_recursion.lua:10: in deepen
-- A tail recursion shows its repeated line once, with a count.
local x = input("image", {3, 8, 8})
local function deepen(v, n)
  if n == 0 then return relu(v, 2) end
  local y = relu(v)
  return deepen(y, n - 1)
end
local function net(v)
  local y = deepen(v, 50)
  return y
end
output("y", net(x))
