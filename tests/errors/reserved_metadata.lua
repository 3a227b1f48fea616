-- expect: tests/errors/reserved_metadata.lua:3: param: the name "__metadata__" is reserved by the safetensors format
local x = input("x", {4})
local w = param("__metadata__", {2, 4})
output("y", dense(x, w))
