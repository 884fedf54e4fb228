// Engine speed in the browser: loads the release build (dist/) in headless
// Chromium and runs each scenario with the app's exported run_headless(),
// which times the simulation inside the page (performance.now() around
// building and running it). Prints a Markdown table like scripts/bench.sh,
// then one of the final reads the lab makes at each checked run's end.
//
//   node scripts/bench-wasm.mjs [scenario.json ...]     (after trunk build --release)
//   BENCH_RUNS=5 node scripts/bench-wasm.mjs
//
// Run by hand (scripts/bench.sh --wasm runs it too); not part of the tests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const { chromium } = require('playwright-core');
const { startServer } = await import(path.join(root, 'tests', 'serve-dist.mjs'));
const { CHROMIUM_ARGS, CHROMIUM_PATH } = await import(path.join(root, 'tests', 'chromium.mjs'));

const runs = Number(process.env.BENCH_RUNS ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_RUNS must be a whole number of at least 1`);
const dist = path.join(root, 'dist');
if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('no dist/index.html: run `trunk build --release` first');
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : fs.readdirSync(path.join(root, 'engine', 'scenarios')).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(root, 'engine', 'scenarios', f));

function medianOf(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const { url, server } = await startServer({ root: dist });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.wasmBindings?.run_headless);
  console.log(`Chromium ${browser.version()}, ${runs} runs per scenario`);
  console.log('| scenario | events | best (s) | median (s) | best events/s | median events/s |');
  console.log('|---|--:|--:|--:|--:|--:|');
  const finals = [];
  for (const file of files) {
    const json = fs.readFileSync(file, 'utf8');
    const duration = JSON.parse(json).duration ?? '60s';
    const times = [];
    const finalTimes = [];
    let events;
    let reads;
    let polls;
    for (let i = 0; i < runs; i++) {
      const r = JSON.parse(await page.evaluate(([j, u]) => window.wasmBindings.run_headless(j, u), [json, duration]));
      if (events !== undefined && r.events !== events) throw new Error(`${file}: events differ between runs`);
      events = r.events;
      reads = r.final_reads;
      polls = r.final_polls;
      times.push(r.wall_ms / 1000);
      finalTimes.push(r.final_reads_ms);
    }
    const best = Math.min(...times);
    const median = medianOf(times);
    if (reads !== null) finals.push(`| ${path.basename(file, '.json')} | ${reads} | ${polls ?? ''} | ${Math.min(...finalTimes).toFixed(1)} | ${medianOf(finalTimes).toFixed(1)} |`);
    const m = (t) => `${(events / t / 1e6).toFixed(2)} M`;
    console.log(`| ${path.basename(file, '.json')} | ${events} | ${best.toFixed(3)} | ${median.toFixed(3)} | ${m(best)} | ${m(median)} |`);
  }
  console.log('\nFinal reads and polls at the run\'s end (a copy of the run, healed, 10 s of quiet, then the reads):\n');
  console.log('| scenario | final reads | final polls (records) | best (ms) | median (ms) |');
  console.log('|---|--:|--:|--:|--:|');
  for (const row of finals) console.log(row);
} finally {
  await browser.close();
  server.close();
}
