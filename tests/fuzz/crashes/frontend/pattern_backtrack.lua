-- expect: tests/errors/pattern_backtrack.lua:5: string.find: this pattern on a string of 5000 bytes may take up to
-- Lua's matcher backtracks: three nested .- on 5000 bytes is about 10^15
-- steps in one C call, which the count hook never sees. Refused up front.
local s = string.rep("a", 5000)
local i = s:find(".-.-.-b")
output("y", input("x", {3}))
