-- expect: tests/errors/loss_shape.lua:7: loss: expected a [1] tensor (average per-sample losses with bmean), got [N]
local x = input("x", {4})
local w = param("w", {3, 4})
local y = label("y", 3)
local ce = xent(dense(x, w), y)
-- per-sample losses: bmean(ce) is what loss() wants
loss(ce)
