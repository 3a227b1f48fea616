-- expect: tests/errors/huge_table.lua:4: memory limit of
local t = {}
for i = 1, math.maxinteger do
  t[i] = {i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i}
end
