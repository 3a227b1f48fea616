-- expect: tests/errors/syntax_error.lua:3: unexpected symbol near '='
local cfg = config{ width = 8 }
local x = = input("image", {1, 28, 28})
