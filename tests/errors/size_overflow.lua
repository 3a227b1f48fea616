-- expect: tests/errors/size_overflow.lua:3: param: [4294967296,4294967296,4294967296] has more than 2^48 elements
-- the element count overflows int64: it must be refused, not wrap around
local w = param("w", {4294967296, 4294967296, 4294967296})
output("y", w)
