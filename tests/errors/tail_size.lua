-- expect: tests/errors/tail_size.lua:8: param "wide.weight": the model's parameters reach 108000000000 bytes
-- The size limit is checked after the script ran, from the line each node
-- remembers: the innermost line of the user's, though both helpers end in
-- tail calls (not line 13, where the outermost call is).
local nn = require "nn"
local x = input("image", {3, 32, 32})
local function wide(v)
  return nn.conv2d("wide", v, 1000000000, 3)
end
local function head(v)
  return wide(v)
end
output("y", head(x))
