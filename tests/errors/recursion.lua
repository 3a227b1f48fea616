-- expect: tests/errors/recursion.lua:5: stack overflow
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/recursion.lua:7: in the main chunk
local function f(n)
  return 1 + f(n + 1)
end
f(1)
