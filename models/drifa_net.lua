-- drifa_net.lua -- DRIFA-Net (Dhar et al., WACV 2025), as specified in
-- shared/spec/drifa-net.md: two modality branches with separate weights, a
-- ResNet-18 layout of RRA blocks, MFA after every convolution inside the
-- blocks and the stem and after most blocks, MIFA coupling the branches
-- after every block, Monte-Carlo dropout, and one softmax head per task.
--
-- Defaults reproduce the spec (128x128, 53,865,668 parameters with 5 and 7
-- classes). Smaller configurations for tests and the demo:
--   -D size=32 -D width=0.25 -D blocks=1
-- Ablations:
--   -D mfa=false        no MFA anywhere (stem, blocks, after blocks)
--   -D post_mfa=false   no MFA after the blocks (MFA inside them stays)
--   -D mifa=false       branches do not exchange information
--   -D branches=1       one branch, one task (single-modality baseline)
-- Batch norm's momentum (PyTorch's convention) defaults to 0.1, which suits
-- small data sets; the authors trained with Keras' default, momentum 0.99,
-- which is -D bn_momentum=0.01 here (running statistics lag ~100 steps).
local nn = require "nn"
local drifa = require "drifa"

local cfg = config{
  size = 128,                -- input side (square images, 3 channels)
  classes1 = 5, classes2 = 7,
  dropout = 0.25,
  loss_weights = {0.5, 0.5},
  width = 1.0,               -- channel multiplier: stages have 64, 128, 256, 512 x width
  blocks = 2,                -- RRA blocks per stage
  mfa = true, post_mfa = true, mifa = true,
  branches = 2,
  bn_momentum = 0.1,         -- every batch norm's; the paper's (Keras 0.99) is 0.01
}

if cfg.branches ~= 1 and cfg.branches ~= 2 then
  error("branches must be 1 or 2", 0)
end

-- Channels of a stage, at least 1.
local function chans(base)
  return math.max(1, math.floor(base * cfg.width + 0.5))
end

-- MFA unless the ablation removes it.
local function mfa(name, x, post)
  if not cfg.mfa or (post and not cfg.post_mfa) then return x end
  return drifa.mfa(name, x)
end

-- The stem of one branch: conv 7x7/2 -> MFA -> BN -> ReLU -> maxpool 3x3/2.
local function stem(x)
  return scope("stem", function()
    local y = nn.conv2d("conv", x, chans(64), 7, {stride = 2, pad = 3})
    y = relu(nn.batchnorm("bn", mfa("mfa", y), {momentum = cfg.bn_momentum}))
    return nn.maxpool(y, 3, 2, 1)
  end)
end

-- One block of one branch (before MIFA): RRA, then dropout and MFA as the
-- spec's table says for stage s, block b of n. Names: branchI.sSbB.conv1,
-- .mfa1, .bn1, .conv2, .mfa2, .bn2, .shortcut (the RRA) and .post_mfa.
local function block(name, x, s, b, n)
  local stride = (s > 1 and b == 1) and 2 or 1
  local y = drifa.rra(name, x, chans(64 * 2 ^ (s - 1)), stride,
    {mfa = cfg.mfa, bn_momentum = cfg.bn_momentum})
  if s < 4 then y = dropout(y, cfg.dropout, "mc") end
  if s < 4 or b < n then
    y = scope(name, function() return mfa("post_mfa", y, true) end)
  end
  return y
end

local inputs = {input("a", {3, cfg.size, cfg.size})}
if cfg.branches == 2 then inputs[2] = input("b", {3, cfg.size, cfg.size}) end

local xs = {}
for i = 1, cfg.branches do
  xs[i] = scope("branch" .. i, function() return stem(inputs[i]) end)
end
for s = 1, 4 do
  for b = 1, cfg.blocks do
    local name = "s" .. s .. "b" .. b
    for i = 1, cfg.branches do
      xs[i] = scope("branch" .. i, function() return block(name, xs[i], s, b, cfg.blocks) end)
    end
    if cfg.branches == 2 and cfg.mifa then
      xs[1], xs[2] = drifa.mifa(name .. ".mifa", xs[1], xs[2])
    end
  end
end

local h = cfg.branches == 2 and concat({xs[1], xs[2]}, 1) or xs[1]
h = gavg(dropout(h, cfg.dropout, "mc"))
local w1 = cfg.branches == 2 and cfg.loss_weights[1] or 1
task("task1", nn.dense("head1", h, cfg.classes1), {weight = w1})
if cfg.branches == 2 then
  task("task2", nn.dense("head2", h, cfg.classes2), {weight = cfg.loss_weights[2]})
end
