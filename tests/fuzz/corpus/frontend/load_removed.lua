-- expect: tests/errors/load_removed.lua:3: attempt to call a nil value (global 'dofile')
local ok = load == nil and loadfile == nil
dofile("/etc/passwd")
