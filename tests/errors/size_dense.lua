-- expect: tests/errors/size_dense.lua:4: param "w": the model's parameters reach 17592186044416 bytes (16.0 TiB) here, over the limit of 16 GiB
local x = input("x", {4})
-- 2^40 units
local w = param("w", {1099511627776, 4})
output("y", dense(x, w))
