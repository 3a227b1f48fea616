#!/usr/bin/env python3
"""The same network as models/fashion_cnn.lua in PyTorch, timed the same way.

Prints one JSON line: {"peer": "pytorch", "ms_per_step": [...], "median_ms": M}.
Used by bench/train_step.sh; not a test.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


class FashionCNN(nn.Module):
    """conv-BN-ReLU-pool twice, dense 128 + ReLU + dropout, dense 10."""

    def __init__(self, width=16, hidden=128, classes=10, p=0.25):
        super().__init__()
        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1),
                                 nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01),
                                 nn.ReLU(), nn.MaxPool2d(2))
        self.features = nn.Sequential(block(1, width), block(width, 2 * width))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 7 * 7, hidden), nn.ReLU(),
                                  nn.Dropout(p), nn.Linear(hidden, classes))

    def forward(self, x):
        return self.head(self.features(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = FashionCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        times.append((time.perf_counter() - t0) * 1000.0 / args.steps)
    print(json.dumps({"peer": "pytorch " + torch.__version__, "batch": args.batch, "threads": args.threads,
                      "ms_per_step": times, "median_ms": statistics.median(times)}))


if __name__ == "__main__":
    main()
