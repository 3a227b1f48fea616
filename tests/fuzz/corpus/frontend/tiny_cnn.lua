-- tiny_cnn.lua -- a small CNN for 28x28 grey images (MNIST-like): the
-- smallest complete model, used by the tests and the demo.
local nn = require "nn"

local cfg = config{ classes = 10, width = 8 }

local x = input("image", {1, 28, 28})
local y = nn.conv2d("conv1", x, cfg.width, 3, {pad = 1})   -- [N, width, 28, 28]
y = relu(nn.batchnorm("bn1", y))
y = nn.maxpool(y, 2)                                       -- [N, width, 14, 14]
y = flatten(y)                                             -- [N, width*14*14]
y = nn.dense("fc", y, cfg.classes)                         -- logits [N, classes]
task("probs", y)    -- output "probs" = softmax(y), labels input "probs.label", cross-entropy loss
