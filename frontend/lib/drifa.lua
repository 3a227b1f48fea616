-- drifa.lua -- DRIFA-Net's attention blocks (shared/spec/drifa-net.md 2-4):
--   local drifa = require "drifa"
--   y = drifa.mfa(name, x)                   multi-branch fusion attention
--   y1, y2 = drifa.mifa(name, x1, x2)        multimodal information fusion attention
--   y = drifa.rra(name, x, filters, stride)  robust residual attention block
-- Parameter names (under the scope `name`) are listed in docs/model-language.md.
local _, lunac = ...
local pack, unpack, select = table.pack, table.unpack, select
local nn = require "nn"

local drifa = {}

-- Raise unless x is a 4-D tensor [N, C, H, W]; return C.
local function channels(fn, x, what)
  if not istensor(x) or x.rank ~= 4 then
    error(string.format("%s: expected a [N,C,H,W] tensor as %s, got %s", fn, what,
      istensor(x) and tostring(x) or type(x)), 3)
  end
  return x.shape[2]
end

-- A 1x1 convolution C->C with bias, named name, followed by sigmoid.
local function gate(name, x, c)
  return sigmoid(nn.conv2d(name, x, c, 1))
end

-- A [C] parameter initialised to ones, shaped [1, C, 1, 1] to scale feature maps.
local function scale(name, c)
  return reshape(param(name, {c}, "ones"), {1, c, 1, 1})
end

-- drifa.mfa(name, x) -> x * A * alpha, same shape as x.
-- HIFA: g1..g4 1x1 convs, dense 2C->C; CLIA: l1, l2 1x1 convs;
-- gamma_g [1], gamma_l [C], alpha [C]. 8C^2 + 9C + 1 parameters.
function drifa.mfa(name, x)
  local c = channels("drifa.mfa", x, "argument 2")
  return scope(name, function()
    -- HIFA, the hierarchical path
    local g1 = gate("g1", x, c)
    local g2 = gate("g2", g1, c)
    local s1 = gavg(g1) + gmax(g2)
    local g3 = gate("g3", g1 + g2, c)
    local g4 = gate("g4", g3, c)
    local s2 = gavg(g3) + gmax(g4)
    local a_g = sigmoid(nn.dense("dense", concat({s1, s2}, 1), c))           -- [N, C]
    -- CLIA, the channel-wise local path (a 1x1 conv on a 1x1 map is a dense C->C)
    local l1 = gavg(gate("l1", x, c), {keepdims = true})                      -- [N, C, 1, 1]
    local a_l = l1 + gate("l2", l1, c)
    local gamma_g = param("gamma_g", {1}, "ones")
    local a = sigmoid(gamma_g * reshape(a_g, {c, 1, 1}) + scale("gamma_l", c) * a_l)
    return x * a * scale("alpha", c)
  end)
end

-- drifa.mifa(name, x1, x2) -> y1, y2 = x1 * A * alpha1, x2 * A * alpha2.
-- MGIFA: one dense C->C ("dense") shared by the min, mean and max statistics;
-- MLIFA: conv1 on x1, conv2 on x2 (1x1, sigmoid); gamma_g [1], gamma_l [C],
-- alpha1 [C], alpha2 [C]. 3C^2 + 6C + 1 parameters.
function drifa.mifa(name, x1, x2)
  local c = channels("drifa.mifa", x1, "argument 2")
  local c2 = channels("drifa.mifa", x2, "argument 3")
  if c2 ~= c then
    error(string.format("drifa.mifa: both inputs need the same channels, got %d and %d", c, c2), 2)
  end
  return scope(name, function()
    -- MGIFA, the global path
    local w, b = scope("dense", function()
      return param("weight", {c, c}, "glorot"), param("bias", {c}, "zeros")
    end)
    local function d(v) return sigmoid(dense(v, w, b)) end
    local g = d(gmin(x1) + gmin(x2)) + d(gavg(x1) + gavg(x2)) + d(gmax(x1) + gmax(x2))
    -- MLIFA, the local path
    local c1, cc2 = gate("conv1", x1, c), gate("conv2", x2, c)
    local l = (gmin(c1) + gmin(cc2)) + (gavg(c1) + gavg(cc2)) + (gmax(c1) + gmax(cc2))
    local gamma_g = param("gamma_g", {1}, "ones")
    local gamma_l = param("gamma_l", {c}, "ones")
    local a = reshape(sigmoid(gamma_g * g + gamma_l * l), {c, 1, 1})          -- [N, C, 1, 1]
    return x1 * a * scale("alpha1", c), x2 * a * scale("alpha2", c)
  end)
end

-- drifa.rra(name, x, filters [, stride=1 [, {mfa=true, bn_momentum=0.1}]]) -> relu(y + shortcut).
-- y: conv1 (3x3, stride) -> mfa1 -> bn1 -> relu -> conv2 (3x3) -> mfa2 -> bn2;
-- the shortcut is x, or shortcut.bn(shortcut.conv(x)) (1x1, stride, bias)
-- when the stride is not 1 or the channels change. {mfa=false} leaves the
-- two MFAs out (the "without MFA" ablation: a plain ResNet block);
-- bn_momentum is the three batch norms' momentum (nn.batchnorm's default).
function drifa.rra(name, x, filters, stride, opts)
  local cin = channels("drifa.rra", x, "argument 2")
  stride = stride or 1
  opts = lunac.opts("drifa.rra", opts, {mfa = true, bn_momentum = true})
  local with_mfa = opts.mfa ~= false
  local bn = {momentum = opts.bn_momentum}
  local function attend(n, v) if with_mfa then return drifa.mfa(n, v) end return v end
  return scope(name, function()
    local y = nn.conv2d("conv1", x, filters, 3, {stride = stride, pad = 1})
    y = relu(nn.batchnorm("bn1", attend("mfa1", y), bn))
    y = nn.conv2d("conv2", y, filters, 3, {pad = 1})
    y = nn.batchnorm("bn2", attend("mfa2", y), bn)
    local short = x
    if stride ~= 1 or cin ~= filters then
      short = scope("shortcut", function()
        return nn.batchnorm("bn", nn.conv2d("conv", x, filters, 1, {stride = stride}), bn)
      end)
    end
    return relu(y + short)
  end)
end

-- Surplus arguments are an error: each function above is wrapped by one
-- that checks the count against {min, max, signature}.
local signatures = {
  mfa = {2, 2, "drifa.mfa(name, x)"},
  mifa = {3, 3, "drifa.mifa(name, x1, x2)"},
  rra = {3, 5, "drifa.rra(name, x, filters [, stride=1 [, {mfa=true, bn_momentum=0.1}]])"},
}
for key, sig in pairs(signatures) do
  local f = drifa[key]
  drifa[key] = function(...)
    if select("#", ...) > sig[2] then lunac.arity(sig[3], sig[1], sig[2], select(sig[2] + 1, ...)) end
    local r = pack(f(...))   -- not a tail call: errors keep this frame and name drifa.KEY
    return unpack(r, 1, r.n)
  end
end

return drifa
