-- expect: tests/errors/tail_shape.lua:8: conv2d: input [N,3,8,8] has 3 channels but weight [8,1,3,3] expects 1
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/tail_shape.lua:14: in the main chunk
-- expect-also:     tests/errors/tail_shape.lua:12: in block (tail call)
-- expect-also:     tests/errors/tail_shape.lua:8: in conv
-- A builtin's shape error in a helper that block tail-called.
local x = input("image", {3, 8, 8})
local function conv(v, w) return conv2d(v, w) end
local function block(v)
  local w = param("w", {8, 1, 3, 3})
  local y = relu(v)
  return conv(y, w)
end
local y = block(x)
output("y", y)
