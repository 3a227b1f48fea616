#!/usr/bin/env python3
"""Helpers of bench/check_agreement.sh (numpy only):

  agree.py prep W.safetensors WP.safetensors SIZE N DIR
      WP: W with every batch-norm statistic and scale, bias, gamma and alpha
      drawn at random (seeded), so that the eval-mode batch norm and the
      attention scales are exercised (fresh weights have mean 0, var 1 and
      scales 1); DIR/a.npy, DIR/b.npy: a fixed input pair [N,3,SIZE,SIZE]
      in [0, 1).
  agree.py compare WHAT REF.npz NAME=X.npy ...
      the max absolute and max relative difference of each X against REF's
      array NAME; prints one JSON line {"what", "max_abs", "max_rel", "ok"}
      and exits 1 when max_rel > LIMIT (env AGREE_LIMIT, default 1e-5).
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from drifa_torch import read_safetensors  # noqa: E402


def write_safetensors(path, tensors):
    """Write name -> float32 array as a .safetensors file."""
    head, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, "<f4").tobytes()
        head[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(head).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def is_scale(k):
    """Parameters that multiply: batch-norm weights and variances, gammas, alphas."""
    last = k.rsplit(".", 1)[-1]
    bn_weight = last == "weight" and k.rsplit(".", 2)[-2] in ("bn", "bn1", "bn2")
    return bn_weight or last in ("running_var", "gamma_g", "gamma_l", "alpha", "alpha1", "alpha2")


def prep(src, dst, size, n, out):
    """Perturbed weights and a fixed input pair (see the module help)."""
    w = read_safetensors(src)
    rng = np.random.default_rng(7)
    for k, v in w.items():
        if is_scale(k):
            w[k] = rng.uniform(0.5, 1.5, v.shape).astype(np.float32)
        elif k.endswith("bias") or k.endswith("running_mean"):
            w[k] = rng.uniform(-0.2, 0.2, v.shape).astype(np.float32)
    write_safetensors(dst, w)
    g = np.random.default_rng(3)
    for name in ("a", "b"):
        np.save(os.path.join(out, name + ".npy"), g.random((n, 3, size, size), dtype=np.float32))


def compare(what, ref, pairs):
    """Max abs / rel difference of the arrays against ref; exit 1 above the limit."""
    limit = float(os.environ.get("AGREE_LIMIT", "1e-5"))
    r = np.load(ref)
    max_abs = max_rel = 0.0
    for p in pairs:
        name, path = p.split("=", 1)
        x, y = np.load(path).astype(np.float64), r[name].astype(np.float64)
        if x.shape != y.shape:
            sys.exit("agree: %s: shape %s, reference %s" % (path, x.shape, y.shape))
        d = np.abs(x - y)
        max_abs = max(max_abs, float(d.max()))
        max_rel = max(max_rel, float((d / np.maximum(np.abs(y), 1e-30)).max()))
    ok = max_rel <= limit
    print(json.dumps({"what": what, "max_abs": max_abs, "max_rel": max_rel, "limit": limit, "ok": ok}))
    sys.exit(0 if ok else 1)


def main():
    if len(sys.argv) >= 7 and sys.argv[1] == "prep":
        prep(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif len(sys.argv) >= 5 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
