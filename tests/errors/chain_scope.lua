-- expect: tests/errors/chain_scope.lua:8: relu: surplus argument 2 (a number); relu(x) takes 1 argument
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/chain_scope.lua:7: in the main chunk
-- expect-also:     tests/errors/chain_scope.lua:8: in the function passed to scope
-- A function passed to scope has no name: the chain says so.
local x = input("image", {3, 8, 8})
local y = scope("block", function()
  return relu(x, 2)
end)
output("y", y)
