-- expect: tests/errors/tail_mutual.lua:15: relu: surplus argument 2 (a number); relu(x) takes 1 argument
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/tail_mutual.lua:20: in the main chunk
-- expect-also:     tests/errors/tail_mutual.lua:16: in even (tail call)
-- expect-also:     tests/errors/tail_mutual.lua:18: in odd (tail call)
-- expect-also:     tests/errors/tail_mutual.lua:16: in even (tail call)
-- expect-also:     ... (34 more)
-- expect-also:     tests/errors/tail_mutual.lua:18: in odd (tail call)
-- expect-also:     tests/errors/tail_mutual.lua:16: in even (tail call)
-- expect-also:     tests/errors/tail_mutual.lua:18: in odd (tail call)
-- expect-also:     tests/errors/tail_mutual.lua:15: in even
-- Two functions tail-calling each other 40 times: the chain's 9 lines.
local even, odd
function even(v, n)
  if n == 0 then return relu(v, 2) end
  return odd(v, n - 1)
end
function odd(v, n) return even(v, n - 1) end
local x = input("image", {3, 8, 8})
output("y", even(x, 40))
