-- expect: tests/errors/config_typo.lua:4: config: no key 'widht' (declare it with a default in config{...}); did you mean 'width'?
local cfg = config{ width = 8 }
local x = input("image", {1, 28, 28})
local w = param("w", {cfg.widht, 1, 3, 3})
