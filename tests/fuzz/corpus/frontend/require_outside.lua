-- expect: tests/errors/require_outside.lua:3: require: module name '../../etc/passwd' is not allowed
local nn = require "nn"
local evil = require "../../etc/passwd"
