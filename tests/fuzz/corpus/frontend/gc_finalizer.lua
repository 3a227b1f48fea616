-- expect: tests/errors/gc_finalizer.lua:3: setmetatable: __gc finalizers are not allowed
local x = input("image", {1, 28, 28})
local t = setmetatable({}, {__gc = function() output("late", x) end})
