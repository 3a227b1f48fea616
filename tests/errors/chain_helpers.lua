-- expect: tests/errors/chain_helpers.lua:9: conv2d: input [N,3,8,8] has 3 channels but weight [8,1,3,3] expects 1
-- expect-also:   call chain, outermost first:
-- expect-also:     tests/errors/chain_helpers.lua:17: in the main chunk
-- expect-also:     tests/errors/chain_helpers.lua:14: in block
-- expect-also:     tests/errors/chain_helpers.lua:9: in conv_bn
-- An error inside two helpers of the script names the chain of calls.
local x = input("image", {3, 8, 8})
local function conv_bn(v, w)
  local y = conv2d(v, w)
  return relu(y)
end
local function block(v)
  local w = param("w", {8, 1, 3, 3})
  local y = conv_bn(v, w)
  return y
end
local y = block(x)
output("y", y)
