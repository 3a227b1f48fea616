-- expect: tests/errors/xent_float_labels.lua:6: xent: labels must be an i32 tensor from label(), got f32[N]
local x = input("x", {4})
local w = param("w", {3, 4})
-- an f32 input cannot hold class indices
local y = input("y", {})
local ce = xent(dense(x, w), y)
