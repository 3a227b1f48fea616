-- resnet_small.lua -- a small ResNet for your own images: a 3x3 stem, two
-- residual stages (the second at stride 2 with a 1x1 projection), global
-- average pooling and one dense head. What a user writes first for a few
-- hundred images of their own; trained with train's defaults it learns
-- (docs/results.md).
--   -D size=64 -D channels=1 -D classes=3 -D width=32
local nn = require "nn"

local cfg = config{ size = 32, channels = 3, classes = 5, width = 16 }

-- conv 3x3 -> batch norm, optionally followed by ReLU.
local function conv_bn(name, x, ch, stride, act)
  local y = nn.conv2d(name .. ".conv", x, ch, 3, {stride = stride, pad = 1})
  y = nn.batchnorm(name .. ".bn", y)
  if act then y = relu(y) end
  return y
end

-- A basic residual block: two 3x3 convolutions and a shortcut (a strided
-- 1x1 projection when the shape changes).
local function block(name, x, ch, stride)
  local y = conv_bn(name .. ".a", x, ch, stride, true)
  y = conv_bn(name .. ".b", y, ch, 1, false)
  local short = x
  if stride ~= 1 or x.shape[2] ~= ch then
    short = nn.batchnorm(name .. ".proj.bn", nn.conv2d(name .. ".proj", x, ch, 1, {stride = stride}))
  end
  return relu(y + short)
end

local x = input("image", {cfg.channels, cfg.size, cfg.size})
local y = conv_bn("stem", x, cfg.width, 1, true)
y = block("s1", y, cfg.width, 1)
y = block("s2", y, 2 * cfg.width, 2)
task("probs", nn.dense("head", gavg(y), cfg.classes))
