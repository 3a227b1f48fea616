-- fashion_cnn.lua -- a two-block CNN for 28x28 grey images (Fashion-MNIST):
-- conv-BN-ReLU-pool twice, a hidden dense layer with dropout, one softmax
-- head. It is the model the training benchmark and the README's numbers use.
local nn = require "nn"

local cfg = config{ classes = 10, width = 16, hidden = 128, dropout = 0.25 }

-- conv 3x3 (same padding) -> batch norm -> ReLU -> 2x2 max pool
local function block(name, x, ch)
  local y = nn.conv2d(name .. ".conv", x, ch, 3, {pad = 1})
  y = relu(nn.batchnorm(name .. ".bn", y))
  return nn.maxpool(y, 2)
end

local x = input("image", {1, 28, 28})
local y = block("block1", x, cfg.width)          -- [N, width, 14, 14]
y = block("block2", y, 2 * cfg.width)            -- [N, 2 width, 7, 7]
y = relu(nn.dense("fc1", flatten(y), cfg.hidden))
y = dropout(y, cfg.dropout, "train")
task("probs", nn.dense("fc2", y, cfg.classes))   -- softmax output "probs", labels "probs.label"
