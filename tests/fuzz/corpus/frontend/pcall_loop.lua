-- expect: tests/errors/pcall_loop.lua:3: instruction budget exhausted (infinite loop?)
-- pcall must not swallow the budget error: the script still stops.
local function spin() while true do end end
while true do pcall(spin) end
