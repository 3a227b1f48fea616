#!/usr/bin/env node
// bench/ort_run.js -- DRIFA-Net (exported by drifa_torch.py onnx) in ONNX Runtime
// for Node, graph optimisation level "all", intraOpNumThreads = T.
//
//   node ort_run.js M.onnx --input a=A.npy --input b=B.npy --output task1=P1.npy ...
//       run once on the inputs (float32 .npy, C order); write the outputs
//       named as .npy (float32) and print their shapes as JSON.
//   node ort_run.js M.onnx --batch B --threads T --steps S --repeat R [--size 128] [--warmup W]
//       time inference on random inputs [B,3,SIZE,SIZE]; prints one JSON line
//       like `OUT bench`: ms_per_step per round, median_ms, peak_rss_kib.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

// The options of the command line: {model, input: [], output: [], key: value}.
function parseArgs(argv) {
  const o = { input: [], output: [], batch: 1, threads: 1, steps: 5, repeat: 5, size: 128, warmup: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { o.model = a; continue; }
    const key = a.slice(2), val = argv[++i];
    if (val === undefined) throw new Error(`${a}: needs a value`);
    if (key === 'input' || key === 'output') o[key].push(val);
    else if (key in o) o[key] = Number(val);
    else throw new Error(`${a}: unknown option`);
    if (typeof o[key] === 'number' && !(o[key] > 0)) throw new Error(`${a} ${val}: not a positive number`);
  }
  if (!o.model) throw new Error('usage: node ort_run.js M.onnx (--input a=A.npy ... | --batch B --threads T ...)');
  return o;
}

// A float32 C-order .npy file as {dims, data: Float32Array}.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(`${path}: want float32 little-endian C order, header ${header.trim()}`);
  const dims = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const n = dims.reduce((p, d) => p * d, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(start + 4 * i);
  return { dims, data };
}

// Write a Float32Array with dims as a version-1.0 .npy file.
function writeNpy(path, dims, data) {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  const body = Buffer.alloc(4 * data.length);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(h, 'latin1'), body]));
}

// The median of an array of numbers.
function median(xs) {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Run the command the options describe.
async function main() {
  const o = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(o.model, {
    graphOptimizationLevel: 'all', intraOpNumThreads: o.threads, interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  if (o.input.length) {
    const feeds = {};
    for (const s of o.input) {
      const [name, path] = s.split('=');
      const x = readNpy(path);
      feeds[name] = new ort.Tensor('float32', x.data, x.dims);
    }
    const out = await session.run(feeds);
    const shapes = {};
    for (const s of o.output) {
      const [name, path] = s.split('=');
      if (!out[name]) throw new Error(`no output ${name}`);
      writeNpy(path, out[name].dims, out[name].data);
      shapes[name] = out[name].dims;
    }
    console.log(JSON.stringify({ outputs: shapes }));
    return;
  }
  const n = o.batch * 3 * o.size * o.size, dims = [o.batch, 3, o.size, o.size];
  const rand = () => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.random(); return a; };
  const feeds = { a: new ort.Tensor('float32', rand(), dims), b: new ort.Tensor('float32', rand(), dims) };
  for (let i = 0; i < o.warmup; i++) await session.run(feeds);
  const ms = [];
  for (let r = 0; r < o.repeat; r++) {
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < o.steps; s++) await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6 / o.steps);
  }
  console.log(JSON.stringify({
    peer: `onnxruntime-node ${require('onnxruntime-node/package.json').version}`, entry: 'predict',
    batch: o.batch, threads: o.threads, ms_per_step: ms, median_ms: median(ms),
    peak_rss_kib: Math.round(process.resourceUsage().maxRSS),
  }));
}

main().catch(e => { console.error(`ort_run: ${e.message}`); process.exit(1); });
