-- expect: tests/errors/task_rank.lua:6: task: logits must be [N,K], got [N,8,4,4]
local nn = require "nn"
local x = input("image", {1, 8, 8})
local y = nn.maxpool(nn.conv2d("conv1", x, 8, 3, {pad = 1}), 2)
-- forgot to pool/flatten and add a dense layer before the head
task("probs", y)
