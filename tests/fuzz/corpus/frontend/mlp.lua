-- mlp.lua -- a two-layer perceptron on 28x28 grey images.
local nn = require "nn"

local cfg = config{ classes = 10, hidden = 64 }

local x = input("image", {1, 28, 28})
local h = relu(nn.dense("fc1", flatten(x), cfg.hidden))
task("probs", nn.dense("fc2", h, cfg.classes))   -- softmax output, labels "probs.label", loss
