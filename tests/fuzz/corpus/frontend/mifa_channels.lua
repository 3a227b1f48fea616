-- expect: tests/errors/mifa_channels.lua:5: drifa.mifa: both inputs need the same channels, got 3 and 4
local drifa = require "drifa"
local a = input("a", {3, 8, 8})
local b = input("b", {4, 8, 8})
local y1, y2 = drifa.mifa("mifa", a, b)
