-- expect: tests/errors/require_missing.lua:2: require: module 'no_such_module' not found
local m = require "no_such_module"
