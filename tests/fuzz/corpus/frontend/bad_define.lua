-- expect: tests/errors/bad_define.lua:3: config: -D width=wide: expected an integer (the default is 8)
-- defs: width=wide
local cfg = config{ width = 8 }
