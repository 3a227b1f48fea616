-- expect: tests/errors/infinite_loop.lua:4: instruction budget exhausted (infinite loop?)
local x = input("image", {1, 28, 28})
local n = 0
while true do n = n + 1 end
