-- expect: tests/errors/os_execute.lua:3: attempt to index a nil value (global 'os')
local x = input("image", {1, 28, 28})
os.execute("touch /tmp/lunac-sandbox-escaped")
