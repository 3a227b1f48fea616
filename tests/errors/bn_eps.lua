-- expect: tests/errors/bn_eps.lua:8: batchnorm: eps must be a finite number above 0, got inf
local x = input("x", {3})
local g = param("g", {3}, "ones")
local b = param("b", {3}, "zeros")
local m = buffer("m", {3})
local v = buffer("v", {3}, "ones")
-- inf passes "eps > 0" but normalises everything to 0
local y = batchnorm(x, g, b, m, v, {eps = math.huge})
output("y", y)
