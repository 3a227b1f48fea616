-- expect: tests/errors/string_copy_loop.lua:6: instruction budget of
-- Allocation is charged against the instruction budget (a concatenation of a
-- long string is one VM instruction however long the copy): this loop stops
-- after about 3 GB of copying instead of running to its end.
local s = string.rep("x", 1 << 24)
for i = 1, 400 do local t = s .. i end
local x = input("image", {1, 28, 28})
output("y", x)
