#!/usr/bin/env python3
"""DRIFA-Net in PyTorch, the peer of models/drifa_net.lua in bench/.

Written from shared/spec/drifa-net.md and matching lunac's models/drifa_net.lua,
frontend/lib/drifa.lua and frontend/lib/nn.lua op for op: the same parameter
names and shapes as the safetensors file `OUT init` writes, so
load_state_dict() takes lunac's weights. Commands:

  drifa_torch.py predict --weights W.safetensors --input a=A.npy --input b=B.npy
        [--size 128 --width 1 --blocks 2 --classes1 5 --classes2 7] [-o PROBS.npz]
      eval mode (dropout off, batch norm on running statistics), like lunac's
      predict; prints {"task1": [[...]], "task2": [[...]]} and saves the
      probabilities (float32) as task1/task2 in PROBS.npz.
  drifa_torch.py bench --entry predict|train_adam --batch B --threads T
        --steps S --repeat R [--variant plain|cl|jit|jit_cl|best] [model flags]
      one JSON line like `OUT bench`: ms_per_step per round, median_ms,
      peak_rss_kib of this process (getrusage).
  drifa_torch.py onnx --weights W.safetensors -o M.onnx [model flags]
      torch.onnx.export of the eval-mode model, inputs a, b with a dynamic
      batch, outputs task1, task2 (probabilities).

Safetensors are read with numpy (no pip packages needed); the file must hold
every parameter and buffer of the model (checked).
"""
import argparse
import json
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- the model

def gap(x, keepdim=False):
    """Global average pool over H, W: [N,C,H,W] -> [N,C] (or [N,C,1,1])."""
    return x.mean(dim=(2, 3), keepdim=keepdim)


def gmax(x):
    """Global max pool over H, W: [N,C,H,W] -> [N,C]."""
    return x.amax(dim=(2, 3))


def gmin(x):
    """Global min pool over H, W: [N,C,H,W] -> [N,C]."""
    return x.amin(dim=(2, 3))


def conv1x1(c):
    """A 1x1 convolution C->C with bias (glorot weights as lunac's nn.conv2d)."""
    return nn.Conv2d(c, c, 1)


class MFA(nn.Module):
    """drifa.mfa: HIFA (g1..g4, dense 2C->C) + CLIA (l1, l2); x * A * alpha."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.g1, self.g2, self.g3, self.g4 = conv1x1(c), conv1x1(c), conv1x1(c), conv1x1(c)
        self.dense = nn.Linear(2 * c, c)
        self.l1, self.l2 = conv1x1(c), conv1x1(c)
        self.gamma_g = nn.Parameter(torch.ones(1))
        self.gamma_l = nn.Parameter(torch.ones(c))
        self.alpha = nn.Parameter(torch.ones(c))

    def forward(self, x):
        c = self.c
        g1 = torch.sigmoid(self.g1(x))
        g2 = torch.sigmoid(self.g2(g1))
        s1 = gap(g1) + gmax(g2)
        g3 = torch.sigmoid(self.g3(g1 + g2))
        g4 = torch.sigmoid(self.g4(g3))
        s2 = gap(g3) + gmax(g4)
        a_g = torch.sigmoid(self.dense(torch.cat([s1, s2], 1)))          # [N, C]
        l1 = gap(torch.sigmoid(self.l1(x)), keepdim=True)                 # [N, C, 1, 1]
        a_l = l1 + torch.sigmoid(self.l2(l1))
        a = torch.sigmoid(self.gamma_g * a_g.reshape(-1, c, 1, 1)
                          + self.gamma_l.reshape(1, c, 1, 1) * a_l)
        return x * a * self.alpha.reshape(1, c, 1, 1)


class MIFA(nn.Module):
    """drifa.mifa: MGIFA (one shared dense C->C) + MLIFA (conv1, conv2)."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.dense = nn.Linear(c, c)
        self.conv1, self.conv2 = conv1x1(c), conv1x1(c)
        self.gamma_g = nn.Parameter(torch.ones(1))
        self.gamma_l = nn.Parameter(torch.ones(c))
        self.alpha1 = nn.Parameter(torch.ones(c))
        self.alpha2 = nn.Parameter(torch.ones(c))

    def forward(self, x1, x2):
        c = self.c
        d = lambda v: torch.sigmoid(self.dense(v))
        g = d(gmin(x1) + gmin(x2)) + d(gap(x1) + gap(x2)) + d(gmax(x1) + gmax(x2))
        c1, c2 = torch.sigmoid(self.conv1(x1)), torch.sigmoid(self.conv2(x2))
        l = (gmin(c1) + gmin(c2)) + (gap(c1) + gap(c2)) + (gmax(c1) + gmax(c2))
        a = torch.sigmoid(self.gamma_g * g + self.gamma_l * l).reshape(-1, c, 1, 1)
        return x1 * a * self.alpha1.reshape(1, c, 1, 1), x2 * a * self.alpha2.reshape(1, c, 1, 1)


def batchnorm(c, momentum):
    """lunac's nn.batchnorm: eps 1e-3, PyTorch's momentum convention."""
    return nn.BatchNorm2d(c, eps=1e-3, momentum=momentum)


class Shortcut(nn.Module):
    """The projection shortcut of an RRA block: bn(conv 1x1, stride)."""

    def __init__(self, cin, cout, stride, momentum):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride)
        self.bn = batchnorm(cout, momentum)

    def forward(self, x):
        return self.bn(self.conv(x))


class Block(nn.Module):
    """One branch's block sSbB: the RRA block, dropout (stages 1-3), post_mfa."""

    def __init__(self, cin, cout, stride, drop, post_mfa, cfg):
        super().__init__()
        m = cfg.bn_momentum
        self.with_mfa = cfg.mfa
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cfg.mfa:
            self.mfa1, self.mfa2 = MFA(cout), MFA(cout)
        self.bn1, self.bn2 = batchnorm(cout, m), batchnorm(cout, m)
        self.shortcut = Shortcut(cin, cout, stride, m) if stride != 1 or cin != cout else None
        self.drop = nn.Dropout(cfg.dropout) if drop else None
        self.post_mfa = MFA(cout) if post_mfa else None

    def forward(self, x):
        y = self.conv1(x)
        y = F.relu(self.bn1(self.mfa1(y) if self.with_mfa else y))
        y = self.conv2(y)
        y = self.bn2(self.mfa2(y) if self.with_mfa else y)
        short = x if self.shortcut is None else self.shortcut(x)
        y = F.relu(y + short)
        if self.drop is not None:
            y = self.drop(y)
        if self.post_mfa is not None:
            y = self.post_mfa(y)
        return y


class Stem(nn.Module):
    """conv 7x7/2 pad 3 -> MFA -> BN -> ReLU -> maxpool 3x3/2 pad 1."""

    def __init__(self, c, cfg):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 7, stride=2, padding=3)
        self.mfa = MFA(c) if cfg.mfa else None
        self.bn = batchnorm(c, cfg.bn_momentum)

    def forward(self, x):
        y = self.conv(x)
        if self.mfa is not None:
            y = self.mfa(y)
        return F.max_pool2d(F.relu(self.bn(y)), 3, 2, 1)


class Holder(nn.Module):
    """A scope that only names its children (sSbB of sSbB.mifa)."""


class DrifaNet(nn.Module):
    """Two branches (stem + 4 stages of `blocks` blocks), MIFA after each block,
    concat -> dropout -> GAP -> head1, head2. forward() returns the logits."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        chans = lambda base: max(1, int(np.floor(base * cfg.width + 0.5)))
        self.nb = cfg.branches
        self.names = []
        for i in range(1, self.nb + 1):
            br = Holder()
            br.add_module("stem", Stem(chans(64), cfg))
            cin = chans(64)
            for s in range(1, 5):
                for b in range(1, cfg.blocks + 1):
                    cout = chans(64 * 2 ** (s - 1))
                    stride = 2 if (s > 1 and b == 1) else 1
                    post = cfg.mfa and cfg.post_mfa and (s < 4 or b < cfg.blocks)
                    br.add_module("s%db%d" % (s, b), Block(cin, cout, stride, s < 4, post, cfg))
                    cin = cout
            self.add_module("branch%d" % i, br)
        for s in range(1, 5):
            for b in range(1, cfg.blocks + 1):
                name = "s%db%d" % (s, b)
                self.names.append(name)
                if self.nb == 2 and cfg.mifa:
                    h = Holder()
                    h.add_module("mifa", MIFA(chans(64 * 2 ** (s - 1))))
                    self.add_module(name, h)
        self.cfinal = cin * self.nb
        self.drop = nn.Dropout(cfg.dropout)
        self.head1 = nn.Linear(self.cfinal, cfg.classes1)
        if self.nb == 2:
            self.head2 = nn.Linear(self.cfinal, cfg.classes2)

    def forward(self, a, b=None):
        xs = [self.branch1.stem(a)]
        if self.nb == 2:
            xs.append(self.branch2.stem(b))
        for name in self.names:
            xs = [getattr(getattr(self, "branch%d" % (i + 1)), name)(x) for i, x in enumerate(xs)]
            if self.nb == 2 and self.cfg.mifa:
                xs = list(getattr(self, name).mifa(xs[0], xs[1]))
        h = torch.cat(xs, 1) if self.nb == 2 else xs[0]
        h = gap(self.drop(h))
        if self.nb == 2:
            return self.head1(h), self.head2(h)
        return (self.head1(h),)


class Probs(nn.Module):
    """The model with a softmax on each head: what lunac's predict returns."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, a, b):
        return tuple(torch.softmax(z, -1) for z in self.net(a, b))


# ---------------------------------------------------------------- files

ST_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
             "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    """The tensors of a .safetensors file, name -> numpy array."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        lo, hi = v["data_offsets"]
        dt = np.dtype(ST_DTYPES[v["dtype"]]).newbyteorder("<")
        out[k] = np.frombuffer(data[lo:hi], dtype=dt).reshape(v["shape"]).astype(dt.newbyteorder("="))
    return out


def load_weights(model, path):
    """Load lunac's weights into model; every parameter and buffer must be there."""
    w = read_safetensors(path)
    sd = model.state_dict()
    new = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            new[k] = v
            continue
        if k not in w:
            sys.exit("drifa_torch: %s: no tensor %s" % (path, k))
        if tuple(w[k].shape) != tuple(v.shape):
            sys.exit("drifa_torch: %s: %s is %s, the model wants %s" % (path, k, w[k].shape, tuple(v.shape)))
        new[k] = torch.from_numpy(w[k].copy())
    extra = [k for k in w if k not in sd and not k.startswith("opt.")]
    if extra:
        sys.exit("drifa_torch: %s: tensors the model does not have: %s" % (path, ", ".join(extra[:5])))
    model.load_state_dict(new)


def model_args(ap):
    """The configuration flags of models/drifa_net.lua."""
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--classes1", type=int, default=5)
    ap.add_argument("--classes2", type=int, default=7)
    ap.add_argument("--dropout", type=float, default=0.25)
    ap.add_argument("--bn-momentum", dest="bn_momentum", type=float, default=0.1)
    ap.add_argument("--branches", type=int, default=2)
    ap.add_argument("--no-mfa", dest="mfa", action="store_false")
    ap.add_argument("--no-post-mfa", dest="post_mfa", action="store_false")
    ap.add_argument("--no-mifa", dest="mifa", action="store_false")


# ---------------------------------------------------------------- commands

def cmd_predict(args):
    """Eval-mode probabilities of the inputs, as JSON (and .npz)."""
    torch.set_num_threads(args.threads)
    net = DrifaNet(args)
    load_weights(net, args.weights)
    net.eval()
    ins = dict(s.split("=", 1) for s in args.input)
    a = torch.from_numpy(np.load(ins["a"]).astype(np.float32))
    b = torch.from_numpy(np.load(ins["b"]).astype(np.float32))
    with torch.no_grad():
        p = Probs(net)(a, b)
    res = {"task%d" % (i + 1): t.numpy() for i, t in enumerate(p)}
    if args.output:
        np.savez(args.output, **res)
    print(json.dumps({k: v.tolist() for k, v in res.items()}))


def inference_fn(net, x, variant, threads):
    """A callable running eval-mode inference on x = (a, b) in `variant`:
    plain, cl (channels-last), jit (trace + optimize_for_inference), jit_cl."""
    net.eval()
    cl = variant in ("cl", "jit_cl")
    if cl:
        net = net.to(memory_format=torch.channels_last)
        x = tuple(t.contiguous(memory_format=torch.channels_last) for t in x)
    m = Probs(net).eval()
    if variant.startswith("jit"):
        with torch.no_grad():
            m = torch.jit.optimize_for_inference(torch.jit.trace(m, x))

    def run():
        with torch.no_grad():
            return m(*x)
    return run


def train_fn(net, x, y, variant):
    """A callable doing one training step: forward, 0.5 CE1 + 0.5 CE2,
    backward, Adam (lr 1e-3). variant cl runs channels-last."""
    if variant == "cl":
        net = net.to(memory_format=torch.channels_last)
        x = tuple(t.contiguous(memory_format=torch.channels_last) for t in x)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def run():
        opt.zero_grad(set_to_none=True)
        z1, z2 = net(*x)
        loss = 0.5 * F.cross_entropy(z1, y[0]) + 0.5 * F.cross_entropy(z2, y[1])
        loss.backward()
        opt.step()
    return run


def time_rounds(run, steps, repeat, warmup):
    """ms per call of each of `repeat` rounds of `steps` calls, after warmup calls."""
    for _ in range(warmup):
        run()
    ms = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(steps):
            run()
        ms.append((time.perf_counter() - t0) * 1000.0 / steps)
    return ms


def cmd_bench(args):
    """One JSON line of timings, like `OUT bench` (plus the variant and peak RSS)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = DrifaNet(args)
    if args.weights:
        load_weights(net, args.weights)
    g = torch.Generator().manual_seed(1)
    n = args.batch
    x = (torch.rand(n, 3, args.size, args.size, generator=g),
         torch.rand(n, 3, args.size, args.size, generator=g))
    variants = [args.variant]
    if args.variant == "best":
        variants = ["plain", "cl", "jit", "jit_cl"] if args.entry == "predict" else ["plain", "cl"]
    results = {}
    for v in variants:
        torch.manual_seed(0)
        net_v = DrifaNet(args)
        net_v.load_state_dict(net.state_dict())
        if args.entry == "predict":
            run = inference_fn(net_v, x, v, args.threads)
        elif args.entry == "train_adam":
            y = (torch.randint(0, args.classes1, (n,), generator=g),
                 torch.randint(0, args.classes2, (n,), generator=g))
            run = train_fn(net_v, x, y, v)
        else:
            sys.exit("drifa_torch: --entry %s: predict or train_adam" % args.entry)
        results[v] = time_rounds(run, args.steps, args.repeat, args.warmup)
    best = min(results, key=lambda v: statistics.median(results[v]))
    print(json.dumps({
        "peer": "pytorch " + torch.__version__, "entry": args.entry, "batch": n,
        "threads": args.threads, "variant": best,
        "variants": {v: statistics.median(t) for v, t in results.items()},
        "ms_per_step": results[best], "median_ms": statistics.median(results[best]),
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def cmd_onnx(args):
    """Export the eval-mode model (probabilities) to ONNX, batch dynamic."""
    net = DrifaNet(args)
    load_weights(net, args.weights)
    m = Probs(net).eval()
    x = (torch.rand(1, 3, args.size, args.size), torch.rand(1, 3, args.size, args.size))
    dyn = {k: {0: "n"} for k in ("a", "b", "task1", "task2")}
    torch.onnx.export(m, x, args.output, input_names=["a", "b"], output_names=["task1", "task2"],
                      dynamic_axes=dyn, opset_version=args.opset, do_constant_folding=True)
    print(json.dumps({"onnx": args.output, "opset": args.opset, "torch": torch.__version__}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("predict")
    p.add_argument("--weights", required=True)
    p.add_argument("--input", action="append", required=True, help="a=A.npy, b=B.npy")
    p.add_argument("-o", "--output")
    p.add_argument("--threads", type=int, default=1)
    model_args(p)
    p.set_defaults(fn=cmd_predict)
    p = sub.add_parser("bench")
    p.add_argument("--entry", default="train_adam")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--variant", default="best", choices=["plain", "cl", "jit", "jit_cl", "best"])
    p.add_argument("--weights")
    model_args(p)
    p.set_defaults(fn=cmd_bench)
    p = sub.add_parser("onnx")
    p.add_argument("--weights", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--opset", type=int, default=14)
    model_args(p)
    p.set_defaults(fn=cmd_onnx)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
