-- expect: tests/errors/error_object.lua:3: (error object is a table value)
local x = input("image", {1, 28, 28})
error({code = 1})
