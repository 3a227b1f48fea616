-- attn_test.lua -- a miniature DRIFA-Net for tests: two 3x16x16 inputs, a
-- conv stem and one RRA block (with its two MFAs) per branch, an MFA after
-- each block, one MIFA coupling the branches, Monte-Carlo dropout, and two
-- classification heads trained with 0.5*CE(task1) + 0.5*CE(task2) (the
-- weights: -D loss_weights=0.3,0.7). Every DRIFA-Net building block at a
-- size that runs fast.
local nn = require "nn"
local drifa = require "drifa"

local cfg = config{ ch = 8, size = 16, stride = 2, p = 0.25, classes1 = 3, classes2 = 4,
                    loss_weights = {0.5, 0.5} }
if #cfg.loss_weights ~= 2 then
  error("loss_weights needs two numbers, one per task, got " .. #cfg.loss_weights)
end

-- conv 3x3 -> BN -> ReLU -> maxpool 2, in scope "stem".
local function stem(x)
  return scope("stem", function()
    local y = nn.conv2d("conv", x, cfg.ch, 3, {pad = 1})
    y = relu(nn.batchnorm("bn", y))
    return nn.maxpool(y, 2)
  end)
end

-- One modality branch: stem -> RRA -> dropout -> MFA.
local function branch(name, x)
  return scope(name, function()
    local y = drifa.rra("b1", stem(x), cfg.ch, cfg.stride)
    y = dropout(y, cfg.p, "mc")
    return drifa.mfa("mfa", y)
  end)
end

local a = input("a", {3, cfg.size, cfg.size})
local b = input("b", {3, cfg.size, cfg.size})
local x1, x2 = drifa.mifa("mifa", branch("branch1", a), branch("branch2", b))

local h = dropout(concat({x1, x2}, 1), cfg.p, "mc")
local f = gavg(h)                                          -- [N, 2*ch]
-- Each task: output "taskK" (probabilities), labels input "taskK.label".
task("task1", nn.dense("head1", f, cfg.classes1), {weight = cfg.loss_weights[1]})
task("task2", nn.dense("head2", f, cfg.classes2), {weight = cfg.loss_weights[2]})
