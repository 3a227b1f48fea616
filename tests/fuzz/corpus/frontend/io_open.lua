-- expect: tests/errors/io_open.lua:3: attempt to index a nil value (global 'io')
local cfg = config{ path = "/etc/passwd" }
local f = io.open(cfg.path)
