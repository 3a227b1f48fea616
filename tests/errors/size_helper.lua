-- expect: tests/errors/size_helper.lua:7: param "wide.weight": the model's parameters reach 108000000000 bytes
-- The size limit is checked after the script ran, from the line each node
-- remembers: the user's line in the helper, not nn's.
local nn = require "nn"
local x = input("image", {3, 32, 32})
local function wide(v)
  local y = nn.conv2d("wide", v, 1000000000, 3)
  return y
end
output("y", wide(x))
