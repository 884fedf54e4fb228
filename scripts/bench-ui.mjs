// The lab's own figures in the browser (issue 6's budgets), on the release
// build in dist/ served from 127.0.0.1 by tests/serve-dist.mjs, in headless
// Debian Chromium:
//
//   1. download: every .wasm and .js file in dist/, raw and `gzip -9`
//      (what a server that gzips sends);
//   2. first render: navigation start to the first node drawn, median of
//      BENCH_RUNS fresh loads;
//   3. frames: the `thirty-nodes-busy` example (30 nodes, more than a
//      thousand messages on the wire) playing at 1x for 10 s: the gaps
//      between requestAnimationFrame callbacks (50th/95th/99th
//      percentiles, and how many missed a vsync), each frame's work (from
//      the frame's start to the first task after it: scripts, style,
//      layout, paint), and the messages on the wire while it ran;
//   4. seeking: the same run taken to 80 s, then the scrubber moved 60 s
//      back; the time from the change to the view showing 20 s, median of
//      BENCH_RUNS seeks;
//   5. following a request: at 80 s of that run, *Slowest so far* in the
//      request path panel; the time from the click to the path shown
//      (re-simulated from the checkpoint before it), median of BENCH_RUNS.
//
//   node scripts/bench-ui.mjs                 (after trunk build --release)
//   BENCH_RUNS=5 node scripts/bench-ui.mjs
//   BENCH_DIST=/tmp/other-dist node scripts/bench-ui.mjs
//
// Run by hand; not part of the tests (figures go in BENCHMARKS.md).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const { chromium } = require('playwright-core');
const { startServer } = await import(path.join(root, 'tests', 'serve-dist.mjs'));
const { CHROMIUM_ARGS, CHROMIUM_PATH } = await import(path.join(root, 'tests', 'chromium.mjs'));

const runs = Number(process.env.BENCH_RUNS ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error('BENCH_RUNS must be a whole number of at least 1');
// BENCH_DIST: another build to measure (to compare two builds in turn).
const dist = path.resolve(process.env.BENCH_DIST ?? path.join(root, 'dist'));
if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('no dist/index.html: run `trunk build --release` first');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// 1. Download size.
let raw = 0;
let gz = 0;
console.log('| file | raw | gzip -9 |');
console.log('|---|--:|--:|');
for (const f of fs.readdirSync(dist).filter((f) => /\.(wasm|js)$/.test(f)).sort()) {
  const bytes = fs.readFileSync(path.join(dist, f));
  const z = zlib.gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += z;
  console.log(`| ${f.replace(/-[0-9a-f]{16}/, '')} | ${kb(bytes.length)} | ${kb(z)} |`);
}
console.log(`| **wasm + JS** | ${kb(raw)} | **${kb(gz)}** |\n`);

const { url, server } = await startServer({ root: dist });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
const secondsShown = () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? -1);
try {
  console.log(`Chromium ${browser.version()}, ${runs} runs\n`);
  // 2. First render, each in a fresh context (nothing cached).
  const renders = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('[data-node]'), null, { polling: 'raf' });
    renders.push(await page.evaluate(() => performance.now()));
    await context.close();
  }
  console.log(`first render: median ${median(renders).toFixed(0)} ms (of ${renders.map((r) => r.toFixed(0)).join(', ')} ms)`);

  // 3. Frames with 30 nodes and the wires full.
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByLabel('Scenario').selectOption('thirty-nodes-busy');
  await page.waitForFunction(`(${secondsShown})() >= 2`, null, { polling: 100 });
  const frames = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const gaps = [];
        const work = [];
        const wire = [];
        let last = performance.now();
        const end = last + 10_000;
        const tick = (t) => {
          gaps.push(t - last);
          last = t;
          // The frame's main-thread work: from the frame's start (t) to the
          // first task after its callbacks, style, layout and paint.
          const done = new MessageChannel();
          done.port1.onmessage = () => work.push(performance.now() - t);
          done.port2.postMessage(0);
          wire.push(Number(document.querySelector('.in-flight')?.textContent.match(/\d+/)?.[0] ?? 0));
          if (t < end) requestAnimationFrame(tick);
          else setTimeout(() => resolve({ gaps, work, wire }), 50);
        };
        requestAnimationFrame(tick);
      }),
  );
  const behind = await page.locator('.behind').textContent();
  const ms = (xs, p) => `${pct(xs, p).toFixed(2)} ms`;
  // A frame missed the display when its gap is well over the usual one
  // (rAF timestamps jitter by about 0.1 ms around 16.67 ms at 60 Hz).
  const usual = median(frames.gaps);
  const missed = frames.gaps.filter((g) => g > usual * 1.5).length;
  console.log(
    `frames over 10 s: ${frames.gaps.length}; gap p50 ${ms(frames.gaps, 50)}, p95 ${ms(frames.gaps, 95)}, p99 ${ms(frames.gaps, 99)}, max ${Math.max(...frames.gaps).toFixed(2)} ms; ${missed} gaps over 1.5x the median (missed vsyncs)`,
  );
  console.log(
    `frame work (frame start to its work done): p50 ${ms(frames.work, 50)}, p95 ${ms(frames.work, 95)}, p99 ${ms(frames.work, 99)}, max ${Math.max(...frames.work).toFixed(2)} ms`,
  );
  console.log(`messages on the wire: min ${Math.min(...frames.wire)}, median ${median(frames.wire)}, max ${Math.max(...frames.wire)}${behind ? ` (lab says: ${behind})` : ''}`);

  // 4. Seeking 60 s back.
  await page.getByRole('slider', { name: /^Speed/ }).fill('9');
  await page.waitForFunction(`(${secondsShown})() >= 80`, null, { polling: 100, timeout: 600_000 });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const seeks = [];
  for (let i = 0; i < runs; i++) {
    await page.getByTestId('scrubber').fill('800');
    await page.waitForFunction(() => document.querySelector('[data-testid=seeking]')?.textContent === '' && document.querySelector('[data-testid=sim-time]').dataset.seconds === '80', null, { polling: 'raf', timeout: 120_000 });
    seeks.push(
      await page.evaluate(
        () =>
          new Promise((resolve) => {
            const slider = document.querySelector('[data-testid=scrubber]');
            const start = performance.now();
            slider.value = '200';
            slider.dispatchEvent(new Event('change', { bubbles: true }));
            const check = () => {
              const shown = document.querySelector('[data-testid=sim-time]').dataset.seconds;
              if (shown === '20' && document.querySelector('[data-testid=seeking]').textContent === '') resolve(performance.now() - start);
              else requestAnimationFrame(check);
            };
            requestAnimationFrame(check);
          }),
      ),
    );
  }
  console.log(`seek 80 s -> 20 s: median ${median(seeks).toFixed(0)} ms (of ${seeks.map((s) => s.toFixed(0)).join(', ')} ms)`);

  // 5. Following the slowest request, at 80 s (a bad number in between
  // clears the panel, so each click draws the path anew).
  await page.getByTestId('scrubber').fill('800');
  await page.waitForFunction(() => document.querySelector('[data-testid=seeking]')?.textContent === '' && document.querySelector('[data-testid=sim-time]').dataset.seconds === '80', null, { polling: 'raf', timeout: 120_000 });
  // Clears the panel (a bad number), then times a click on the panel's
  // button `label` until the path is shown; `runs` times. The median, every
  // time, and the last path's headline.
  const number = page.getByLabel('Operation number');
  const timeFollowing = async (label, before = async () => {}) => {
    const times = [];
    for (let i = 0; i < runs; i++) {
      await number.fill('none');
      await number.press('Enter');
      await page.locator('.path-steps').waitFor({ state: 'detached' });
      await before();
      times.push(
        await page.evaluate(
          (label) =>
            new Promise((resolve) => {
              const button = [...document.querySelectorAll('.request-path button')].find((b) => b.textContent === label);
              const start = performance.now();
              button.click();
              const check = () => {
                if (document.querySelector('.path-steps li')) resolve(performance.now() - start);
                else requestAnimationFrame(check);
              };
              check();
            }),
          label,
        ),
      );
    }
    const headline = await page.locator('.request-path [role=status]').textContent();
    return `median ${median(times).toFixed(0)} ms (of ${times.map((t) => t.toFixed(0)).join(', ')} ms): ${headline}`;
  };
  console.log(`follow the slowest request at 80 s: ${await timeFollowing('Slowest so far')}`);
  // And a late one: the run says how many operations it has.
  await number.fill('999999999');
  await number.press('Enter');
  const last = Number((await page.locator('.request-path [role=status]').textContent()).match(/ 0 to (\d+)/)[1]);
  const late = await timeFollowing('Follow', () => number.fill(String(last - 20_000)));
  console.log(`follow operation ${last - 20_000} of ${last + 1}: ${late}`);

  // 6. A Kafka producer's send: kafka-three-brokers (six partitions, 3,000
  // records a second) played to its end, its slowest send followed.
  await page.getByLabel('Scenario').selectOption('kafka-three-brokers');
  await page.getByRole('slider', { name: /^Speed/ }).fill('9');
  // (The lab was paused above: it stays paused.) It plays to the
  // scenario's end, 30 s, and stops there.
  const play = page.getByRole('button', { name: 'Play', exact: true });
  if (await play.isVisible()) await play.click();
  await page.waitForFunction(`(${secondsShown})() >= 30`, null, { polling: 100, timeout: 600_000 });
  await play.waitFor();
  console.log(`follow the slowest Kafka send at ${await page.getByTestId('sim-time').getAttribute('data-seconds')} s: ${await timeFollowing('Slowest so far')}`);
  await context.close();
} finally {
  await browser.close();
  server.close();
}
