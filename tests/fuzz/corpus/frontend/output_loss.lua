-- expect: tests/errors/output_loss.lua:6: output: the name 'loss' is reserved for the model's loss: add terms to it with loss(x)
local x = input("x", {4})
local w = param("w", {3, 4})
local ce = xent(dense(x, w), label("y", 3))
-- the loss output is made by the frontend from loss() terms
output("loss", bmean(ce))
