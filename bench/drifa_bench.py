#!/usr/bin/env python3
"""The driver of bench/drifa_bench.sh: full-size DRIFA-Net (heads 5 and 7,
two 128x128x3 inputs), lunac against PyTorch and ONNX Runtime, side by side.

Cases (issue 12, deliverable 6), each at every thread count of THREADS:
  infer_b1, infer_b32   inference (lunac's predict entry; PyTorch eval mode
                        in its best variant; ONNX Runtime, level "all")
  train_b32             forward, both losses, backward, Adam (lunac's
                        train_adam; PyTorch train mode), and the peak RSS of
                        that process
  compile               wall and CPU seconds of `lunac build` (once, not per thread)

Each case runs R rounds; a round starts each tool once, in turn (lunac,
PyTorch, ONNX Runtime), so the machine's ups and downs fall on all of them;
the case reports the median over rounds of each tool's ms per call. Every
process warms up before it times (lunac bench: 3 calls; the peers: 2).

Environment: ROUNDS (5; QUICK=1: 3), QUICK=1 (also skips train_b32),
THREADS ("1 2"), CASES (default "compile infer_b1 infer_b32 train_b32"),
EXE (the full-size executable; built and timed when compile is a case),
AGREE=0 (skip bench/check_agreement.sh, which otherwise runs after the
compile and stops the benchmark when the models disagree).
Writes bench/results.json and prints a table.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
OUT = os.path.join(ROOT, "generated", "bench")
MODEL_FLAGS = ["-D", "classes1=5", "-D", "classes2=7"]
STEPS = {"infer_b1": 5, "infer_b32": 1, "train_b32": 1}


def run(cmd, env=None):
    """Run cmd, return (stdout, peak RSS in KiB of the process, wall s, CPU s); exit on failure."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("drifa_bench: %s failed (exit %d)" % (" ".join(cmd), p.returncode))
    return out.decode(), ru.ru_maxrss, wall, ru.ru_utime + ru.ru_stime


def last_json(text):
    """The last line of text that is a JSON object."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    sys.exit("drifa_bench: no JSON in %r" % text[-200:])


def torch_env(threads):
    """PyTorch's best configuration: its own thread count, OpenBLAS on one
    thread (else its pool fights PyTorch's), no mmap in malloc, OpenBLAS's
    own core detection (OPENBLAS_CORETYPE unset)."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1",
               GLIBC_TUNABLES="glibc.malloc.mmap_max=0")
    return env


def case_cmds(case, threads, exe, onnx, variant):
    """{tool: (argv, env)} of one round of case at threads."""
    entry = "train_adam" if case.startswith("train") else "predict"
    batch = "1" if case.endswith("b1") else "32"
    s = str(STEPS[case])
    cmds = {
        "lunac": ([exe, "bench", "--entry", entry, "--batch", batch, "--threads", str(threads),
                   "--steps", s, "--repeat", "1", "--warmup", "1"], None),
        "pytorch": ([PY, "bench/drifa_torch.py", "bench", "--entry", entry, "--batch", batch,
                     "--threads", str(threads), "--steps", s, "--repeat", "1", "--variant", variant,
                     "--classes1", "5", "--classes2", "7"], torch_env(threads)),
    }
    if entry == "predict" and onnx:
        cmds["onnxruntime"] = (["node", "bench/ort_run.js", onnx, "--batch", batch, "--threads",
                                str(threads), "--steps", s, "--repeat", "1"], None)
    return cmds


def best_variant(case, threads):
    """PyTorch's fastest variant for case (plain, channels-last, jit-optimised), by one calibration run."""
    entry = "train_adam" if case.startswith("train") else "predict"
    batch = "1" if case.endswith("b1") else "32"
    out, _, _, _ = run([PY, "bench/drifa_torch.py", "bench", "--entry", entry, "--batch", batch,
                        "--threads", str(threads), "--steps", str(STEPS[case]), "--repeat", "1",
                        "--variant", "best", "--classes1", "5", "--classes2", "7"], torch_env(threads))
    j = last_json(out)
    return j["variant"], j["variants"]


def bench_case(case, threads, rounds, exe, onnx):
    """One case at one thread count: medians over interleaved rounds."""
    variant, tried = best_variant(case, threads)
    ms, rss = {}, {}
    for r in range(rounds):
        for tool, (cmd, env) in case_cmds(case, threads, exe, onnx, variant).items():
            out, maxrss, _, _ = run(cmd, env)
            ms.setdefault(tool, []).append(last_json(out)["median_ms"])
            rss[tool] = max(rss.get(tool, 0), maxrss)
            print("  %s t%d round %d %s: %.1f ms" % (case, threads, r + 1, tool, ms[tool][-1]), flush=True)
    res = {"case": case, "threads": threads, "rounds": rounds, "steps": STEPS[case],
           "pytorch_variant": variant, "pytorch_variants_ms": tried}
    for tool, xs in ms.items():
        res[tool + "_ms"] = statistics.median(xs)
        res[tool + "_rounds_ms"] = xs
    peers = [t for t in ms if t != "lunac"]
    best = min(peers, key=lambda t: res[t + "_ms"])
    res["best_peer"] = best
    res["ratio"] = res["lunac_ms"] / res[best + "_ms"]
    if case.startswith("train"):
        for tool in ms:
            res[tool + "_peak_rss_mib"] = rss[tool] / 1024.0
        res["rss_ratio"] = rss["lunac"] / rss["pytorch"]
    return res


def bench_compile(rounds, exe):
    """Wall and CPU seconds of building the full model (all entry points), median of rounds."""
    wall, cpu = [], []
    for r in range(rounds):
        _, _, w, c = run([os.path.join(ROOT, "bin", "lunac"), "build", "models/drifa_net.lua"]
                         + MODEL_FLAGS + ["-o", exe])
        wall.append(w)
        cpu.append(c)
        print("  compile round %d: %.1f s wall, %.1f s CPU" % (r + 1, w, c), flush=True)
    return {"case": "compile", "rounds": rounds, "lunac_wall_s": statistics.median(wall),
            "lunac_cpu_s": statistics.median(cpu), "lunac_wall_rounds_s": wall, "lunac_cpu_rounds_s": cpu}


def machine():
    """The CPU's name, core count and vector extensions (from /proc/cpuinfo)."""
    info = {"cpus": os.cpu_count(), "platform": platform.platform(), "cpu": "?", "vector": []}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key.strip() == "model name" and info["cpu"] == "?":
                info["cpu"] = val.strip()
            elif key.strip() == "flags" and not info["vector"]:
                info["vector"] = [x for x in val.split() if x in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16")]
    return info


def table(results):
    """The results as a Markdown table."""
    rows = ["| case | threads | lunac | PyTorch | ONNX Runtime | lunac / best peer |",
            "|---|---|---|---|---|---|"]
    for r in results:
        if r["case"] == "compile":
            rows.append("| compile (full model, all entries) | - | %.1f s wall, %.1f s CPU | - | - | - |"
                        % (r["lunac_wall_s"], r["lunac_cpu_s"]))
            continue
        ort = "%.1f ms" % r["onnxruntime_ms"] if "onnxruntime_ms" in r else "-"
        rows.append("| %s | %d | %.1f ms | %.1f ms (%s) | %s | %.2f |" % (
            r["case"], r["threads"], r["lunac_ms"], r["pytorch_ms"], r["pytorch_variant"], ort, r["ratio"]))
        if "rss_ratio" in r:
            rows.append("| %s peak RSS | %d | %.0f MiB | %.0f MiB | - | %.2f |" % (
                r["case"], r["threads"], r["lunac_peak_rss_mib"], r["pytorch_peak_rss_mib"], r["rss_ratio"]))
    return "\n".join(rows)


def main():
    quick = os.environ.get("QUICK", "0") == "1"
    rounds = int(os.environ.get("ROUNDS", "3" if quick else "5"))
    threads = [int(t) for t in os.environ.get("THREADS", "1 2").split()]
    default = "compile infer_b1 infer_b32" + ("" if quick else " train_b32")
    cases = os.environ.get("CASES", default).split()
    exe = os.environ.get("EXE") or os.path.join(OUT, "drifa_full")
    os.makedirs(OUT, exist_ok=True)
    results = []
    if "compile" in cases:
        results.append(bench_compile(1 if quick else 3, exe))
    elif not os.path.exists(exe):
        run([os.path.join(ROOT, "bin", "lunac"), "build", "models/drifa_net.lua"] + MODEL_FLAGS + ["-o", exe])
    if os.environ.get("AGREE", "1") == "1":
        env = dict(os.environ, LUNAC_FULL=exe)
        if subprocess.call(["sh", "bench/check_agreement.sh", "small", "full"], cwd=ROOT, env=env):
            sys.exit("drifa_bench: the PyTorch model does not agree with lunac's: no benchmark")
    onnx = os.path.join(OUT, "agree_full", "model.onnx")
    onnx = onnx if os.path.exists(onnx) and os.path.isdir(os.path.join(ROOT, "bench", "node_modules")) else None
    for case in [c for c in ("infer_b1", "infer_b32", "train_b32") if c in cases]:
        for t in threads:
            results.append(bench_case(case, t, rounds, exe, onnx))
    agreement = []
    agree_file = os.path.join(OUT, "agreement.json")
    if os.path.exists(agree_file):
        agreement = [json.loads(l) for l in open(agree_file) if l.strip()]
    env_keys = ("QUICK", "ROUNDS", "THREADS", "CASES", "AGREE")
    doc = {
        "command": " ".join(["%s='%s'" % (k, os.environ[k]) for k in env_keys if k in os.environ]
                            + ["make bench"]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "model": "drifa_net.lua -D classes1=5 -D classes2=7 (128x128, 53,865,668 parameters)",
        "agreement": agreement,
        "cases": results,
    }
    with open(os.path.join(ROOT, "bench", "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(table(results))
    print("wrote bench/results.json")


if __name__ == "__main__":
    main()
