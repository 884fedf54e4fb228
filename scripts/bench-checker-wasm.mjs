// The consistency checker in WebAssembly, under Node: checks every Jepsen
// etcd history in a directory with the bare module built from
// checker/examples/wasm_etcd.rs, checks each verdict against expected.tsv,
// and prints the best and median time over BENCH_RUNS runs (default 5) of
// all the files (instantiation excluded; reading the files excluded).
//
//   node scripts/bench-checker-wasm.mjs <module.wasm> <dir of etcd_*.log>
import fs from 'node:fs';
import path from 'node:path';

const [wasmPath, dir] = process.argv.slice(2);
if (!wasmPath || !dir) throw new Error('usage: bench-checker-wasm.mjs <module.wasm> <dir>');
const runs = Number(process.env.BENCH_RUNS ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error('BENCH_RUNS must be a whole number of at least 1');
const expected = new Map(
  fs.readFileSync(path.join(dir, 'expected.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')),
);
const files = [...expected.keys()].map((f) => [f, fs.readFileSync(path.join(dir, f))]);
const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), {});
const { alloc, check_etcd: check, memory } = instance.exports;
// One buffer big enough for the largest file, filled per file.
const size = Math.max(...files.map(([, b]) => b.length));
const buf = alloc(size);
const times = [];
for (let r = 0; r < runs; r++) {
  let t = 0;
  for (const [name, bytes] of files) {
    new Uint8Array(memory.buffer, buf, bytes.length).set(bytes);
    const t0 = performance.now();
    const v = check(buf, bytes.length);
    t += performance.now() - t0;
    const want = expected.get(name) === 'true' ? 1 : 0;
    if (v !== want) throw new Error(`${name}: got ${v}, expected ${want}`);
  }
  times.push(t);
}
times.sort((a, b) => a - b);
console.log(`${files.length} files, ${runs} runs: best ${times[0].toFixed(1)} ms, median ${times[Math.floor(runs / 2)].toFixed(1)} ms (all verdicts as expected)`);
