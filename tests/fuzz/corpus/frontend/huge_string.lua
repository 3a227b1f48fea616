-- expect: tests/errors/huge_string.lua:4: memory limit of
local x = input("image", {1, 28, 28})
local parts = {}
local s = string.rep("x", 1 << 30)
