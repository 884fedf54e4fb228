// Where the main thread's time goes while the lab plays the busy example:
// a 4-s Chromium trace of the release build in dist/, summed by event
// (script: FireAnimationFrame, RunMicrotasks; rendering: Layout, Paint,
// PrePaint, Layerize). Divide by the FireAnimationFrame count for per-frame
// figures. CSS='...' adds a style sheet first, to try a style change
// without a build.
//
//   node scripts/profile-ui.mjs                 (after trunk build --release)
//   CSS='.log { display: none; }' node scripts/profile-ui.mjs
//
// Run by hand; not part of the tests (BENCHMARKS.md has what it found).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const { chromium } = require('playwright-core');
const { startServer } = await import(path.join(root, 'tests', 'serve-dist.mjs'));
const { CHROMIUM_ARGS, CHROMIUM_PATH } = await import(path.join(root, 'tests', 'chromium.mjs'));

const dist = path.resolve(process.env.BENCH_DIST ?? path.join(root, 'dist'));
if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error(`no ${dist}/index.html: run \`trunk build --release\` first`);
const tracePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clusterlab-trace-')), 'trace.json');
const { url, server } = await startServer({ root: dist });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByLabel('Scenario').selectOption('thirty-nodes-busy');
  const seconds = () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? -1);
  await page.waitForFunction(`(${seconds})() >= 2`, null, { polling: 100 });
  if (process.env.CSS) await page.addStyleTag({ content: process.env.CSS });
  await browser.startTracing(page, { path: tracePath, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  await page.waitForFunction(`(${seconds})() >= 6`, null, { polling: 100 });
  await browser.stopTracing();
} finally {
  await browser.close();
  server.close();
}
const trace = JSON.parse(fs.readFileSync(tracePath, 'utf8'));
const events = trace.traceEvents ?? trace;
const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
const sums = new Map();
for (const e of events) {
  if (e.ph !== 'X' || e.pid !== main.pid || e.tid !== main.tid) continue;
  const [ms, n] = sums.get(e.name) ?? [0, 0];
  sums.set(e.name, [ms + e.dur / 1000, n + 1]);
}
const frames = sums.get('FireAnimationFrame')?.[1] ?? 1;
console.log(`${frames} frames traced; main thread, by event:`);
console.log('| event | ms in all | count | ms per frame |\n|---|--:|--:|--:|');
for (const [name, [ms, n]] of [...sums].sort((a, b) => b[1][0] - a[1][0]).slice(0, 14)) {
  console.log(`| ${name} | ${ms.toFixed(0)} | ${n} | ${(ms / frames).toFixed(2)} |`);
}
