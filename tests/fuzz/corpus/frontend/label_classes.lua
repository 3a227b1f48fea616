-- expect: tests/errors/label_classes.lua:6: xent: labels 'y' have 3 classes but the logits have 4
local x = input("x", {4})
local w = param("w", {4, 4})
local y = label("y", 3)
-- the head has 4 outputs but the labels were declared with 3 classes
loss(bmean(xent(dense(x, w), y)))
