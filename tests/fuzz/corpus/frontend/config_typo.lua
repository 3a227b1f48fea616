-- expect: tests/errors/config_typo.lua:4: config: no key 'widht'
local cfg = config{ width = 8 }
local x = input("image", {1, 28, 28})
local w = param("w", {cfg.widht, 1, 3, 3})
