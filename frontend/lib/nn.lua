-- nn.lua -- layers with named parameters, for model scripts: local nn = require "nn"
--
-- Parameter names follow PyTorch (name.weight, name.bias, name.running_mean,
-- name.running_var) and layouts are PyTorch's (conv weights OIHW, dense
-- weights [out, in]), so weight files interoperate. Each layer opens a
-- scope called `name`: nn.conv2d("conv1", ...) inside scope "stem" makes
-- "stem.conv1.weight".
local _, lunac = ...
local pack, unpack, select = table.pack, table.unpack, select
local nn = {}

-- Raise "fn: what" unless x is a tensor.
local function want_tensor(fn, x, what)
  if not istensor(x) then
    error(string.format("%s: expected a tensor as %s, got %s", fn, what, type(x)), 3)
  end
end

-- opts, or {} when it is nil; raises unless it is a table whose keys are
-- all in the set allowed (an unknown key gets "did you mean").
local function want_opts(fn, opts, allowed)
  local o = lunac.opts(fn, opts, allowed)
  return o
end

-- The pair (h, w) of k, a number or a table {h, w}.
local function pair(k)
  if type(k) == "table" then return k[1], k[2] end
  return k, k
end

-- nn.conv2d(name, x, out_ch, k [, {stride=1, pad=0 | "same", bias=true}]) -> tensor
-- Makes name.weight [out_ch, C, kh, kw] (glorot) and name.bias [out_ch] (zeros).
-- pad="same" pads (k-1)/2 on each side (odd kernels keep H and W at stride 1).
function nn.conv2d(name, x, out_ch, k, opts)
  want_tensor("nn.conv2d", x, "argument 2")
  opts = want_opts("nn.conv2d", opts, {stride = true, pad = true, bias = true})
  local kh, kw = pair(k)
  local pad = opts.pad or 0
  if pad == "same" then pad = {(kh - 1) // 2, (kw - 1) // 2} end
  return scope(name, function()
    local w = param("weight", {out_ch, x.shape[2], kh, kw}, "glorot")
    local b = nil
    if opts.bias ~= false then b = param("bias", {out_ch}, "zeros") end
    return conv2d(x, w, b, {stride = opts.stride or 1, pad = pad})
  end)
end

-- nn.dense(name, x, out [, {bias=true}]) -> tensor [N, out]
-- Makes name.weight [out, K] (glorot) and name.bias [out] (zeros); x is [N, K].
function nn.dense(name, x, out, opts)
  want_tensor("nn.dense", x, "argument 2")
  opts = want_opts("nn.dense", opts, {bias = true})
  local shape = x.shape
  return scope(name, function()
    local w = param("weight", {out, shape[#shape]}, "glorot")
    local b = nil
    if opts.bias ~= false then b = param("bias", {out}, "zeros") end
    return dense(x, w, b)
  end)
end

-- nn.batchnorm(name, x [, {eps=1e-3, momentum=0.1, mode="running"}]) -> tensor
-- Makes name.weight (ones), name.bias (zeros) and the buffers
-- name.running_mean (zeros) and name.running_var (ones), each [C].
-- momentum is PyTorch's convention and default: each training step moves the
-- running statistics by r = (1 - m) r + m batch (Keras' momentum 0.99 is 0.01
-- here, which lags by about 100 steps; see docs/model-language.md).
function nn.batchnorm(name, x, opts)
  want_tensor("nn.batchnorm", x, "argument 2")
  opts = want_opts("nn.batchnorm", opts, {eps = true, momentum = true, mode = true})
  local c = x.shape[2]
  return scope(name, function()
    local gamma = param("weight", {c}, "ones")
    local beta = param("bias", {c}, "zeros")
    local mean = buffer("running_mean", {c}, "zeros")
    local var = buffer("running_var", {c}, "ones")
    return batchnorm(x, gamma, beta, mean, var, {
      eps = opts.eps or 1e-3, momentum = opts.momentum or 0.1, mode = opts.mode or "running",
    })
  end)
end

-- nn.maxpool(x, k [, stride=k [, pad=0]]) -> tensor
function nn.maxpool(x, k, stride, pad)
  want_tensor("nn.maxpool", x, "argument 1")
  return maxpool(x, {kernel = k, stride = stride or k, pad = pad or 0})
end

-- nn.avgpool(x, k [, stride=k [, pad=0]]) -> tensor
function nn.avgpool(x, k, stride, pad)
  want_tensor("nn.avgpool", x, "argument 1")
  return avgpool(x, {kernel = k, stride = stride or k, pad = pad or 0})
end

-- nn.flatten(x) -> tensor [N, C*H*W]
function nn.flatten(x)
  want_tensor("nn.flatten", x, "argument 1")
  return flatten(x)
end

-- Surplus arguments are an error: each function above is wrapped by one
-- that checks the count against {min, max, signature}.
local signatures = {
  conv2d = {4, 5, "nn.conv2d(name, x, out_ch, k [, {stride=1, pad=0, bias=true}])"},
  dense = {3, 4, "nn.dense(name, x, out [, {bias=true}])"},
  batchnorm = {2, 3, "nn.batchnorm(name, x [, {eps, momentum, mode}])"},
  maxpool = {2, 4, "nn.maxpool(x, k [, stride=k [, pad=0]])"},
  avgpool = {2, 4, "nn.avgpool(x, k [, stride=k [, pad=0]])"},
  flatten = {1, 1, "nn.flatten(x)"},
}
for key, sig in pairs(signatures) do
  local f = nn[key]
  nn[key] = function(...)
    if select("#", ...) > sig[2] then lunac.arity(sig[3], sig[1], sig[2], select(sig[2] + 1, ...)) end
    local r = pack(f(...))   -- not a tail call: errors keep this frame and name nn.KEY
    return unpack(r, 1, r.n)
  end
end

return nn
