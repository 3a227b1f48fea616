-- expect: tests/errors/rep_empty.lua:4: string.rep: this repeat count may take up to 1e+15 steps
-- string.rep loops once per copy even when the copies are empty (no memory
-- is used): a loop inside one C call that the count hook never sees.
local s = string.rep("", 1e15)
output("y", input("x", {3}))
