-- expect: tests/errors/reserved_opt.lua:4: param: the name "opt.m.w" starts with "opt.", which is kept for the optimizer state
local x = input("x", {4})
local w = scope("opt", function()
  return param("m.w", {2, 4})
end)
output("y", dense(x, w))
