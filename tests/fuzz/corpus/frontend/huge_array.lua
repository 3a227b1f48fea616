-- expect: tests/errors/huge_array.lua:4: memory limit of
local t = {}
for i = 1, math.maxinteger do
  t[i] = i
end
