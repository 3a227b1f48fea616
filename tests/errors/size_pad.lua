-- expect: tests/errors/size_pad.lua:4: maxpool: pad must be from 0 to 2^48, got 4611686018427387904
local x = input("x", {1, 8, 8})
-- a pad this large overflowed the window arithmetic
local y = maxpool(x, {kernel = 2, pad = 4611686018427387904})
output("y", y)
