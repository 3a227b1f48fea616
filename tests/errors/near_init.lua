-- expect: tests/errors/near_init.lua:2: param: init must be "glorot", "zeros" or "ones", got "zero"; did you mean 'zeros'?
local w = param("w", {4}, "zero")
