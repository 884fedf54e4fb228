// Following a request late in a long run, in the browser: the
// `thirty-nodes-busy` example with its duration made 600 s, imported and
// played to its end (the lab's checkpoints are then 16 to 32 s apart);
// then *Slowest so far* and the last operation the client history holds
// (it keeps the first 100,000: limits.history_ops), each followed
// BENCH_RUNS times. For each: the time from the click to the path shown,
// and the longest gap between animation frames meanwhile (how long the
// page could not answer). Then seeking 60 s back from the end, timed.
//
//   node scripts/bench-follow-long.mjs        (after trunk build --release)
//   BENCH_RUNS=3 BENCH_SECONDS=300 BENCH_SCENARIO=raft-kv-five node scripts/bench-follow-long.mjs
//
// Run by hand; not part of the tests (figures go in BENCHMARKS.md).
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
const seconds = Number(process.env.BENCH_SECONDS ?? 600);
const example = process.env.BENCH_SCENARIO ?? 'thirty-nodes-busy';
if (!Number.isInteger(runs) || runs < 1) throw new Error('BENCH_RUNS must be a whole number of at least 1');
if (!Number.isInteger(seconds) || seconds < 10) throw new Error('BENCH_SECONDS must be a whole number of at least 10');
const dist = path.join(root, 'dist');
if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('no dist/index.html: run `trunk build --release` first');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const scenario = JSON.parse(fs.readFileSync(path.join(root, 'engine', 'scenarios', `${example}.json`), 'utf8'));
scenario.duration = `${seconds}s`;

const { url, server } = await startServer({ root: dist });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
try {
  console.log(`Chromium ${browser.version()}, ${example} for ${seconds} s, ${runs} runs\n`);
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  await page.goto(url);
  await page.getByTestId('import').setInputFiles({ name: 'long.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(scenario)) });
  await page.getByTestId('share-status').filter({ hasText: 'Opened long.json.' }).waitFor();
  await page.getByRole('slider', { name: /^Speed/ }).fill('9');
  const play = page.getByRole('button', { name: 'Play', exact: true });
  if (await play.isVisible()) await play.click();
  const started = Date.now();
  await page.waitForFunction((s) => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds) >= s, seconds, { polling: 500, timeout: 1_800_000 });
  await play.waitFor();
  console.log(`played to ${seconds} s in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const number = page.getByLabel('Operation number');
  // Clears the panel (a bad number), then clicks the panel's button
  // `label` and times it to the path shown, watching the frames meanwhile.
  const timeFollowing = async (label, before = async () => {}) => {
    const times = [];
    const gaps = [];
    for (let i = 0; i < runs; i++) {
      await number.fill('none');
      await number.press('Enter');
      await page.locator('.path-steps').waitFor({ state: 'detached' });
      await before();
      const r = await page.evaluate(
        (label) =>
          new Promise((resolve) => {
            const button = [...document.querySelectorAll('.request-path button')].find((b) => b.textContent === label);
            // Gaps between frame callbacks, read from the clock when each
            // runs (a frame's own timestamp may be older than its start).
            let longest = 0;
            let last = performance.now();
            const start = last;
            const check = () => {
              const now = performance.now();
              longest = Math.max(longest, now - last);
              last = now;
              if (document.querySelector('.path-steps li')) resolve({ took: now - start, longest });
              else requestAnimationFrame(check);
            };
            button.click();
            requestAnimationFrame(check);
          }),
        label,
      );
      times.push(r.took);
      gaps.push(r.longest);
    }
    const headline = await page.locator('.request-path [role=status]').textContent();
    const list = (xs) => xs.map((t) => t.toFixed(0)).join(', ');
    return `median ${median(times).toFixed(0)} ms (of ${list(times)} ms), longest frame gap median ${median(gaps).toFixed(0)} ms (of ${list(gaps)} ms): ${headline}`;
  };
  console.log(`follow the slowest request at ${seconds} s: ${await timeFollowing('Slowest so far')}`);
  await number.fill('999999999');
  await number.press('Enter');
  const last = Number((await page.locator('.request-path [role=status]').textContent()).match(/ 0 to (\d+)/)[1]);
  // The last operation the history holds (limits.history_ops): the most
  // to simulate again, from the checkpoint before it.
  const late = last;
  console.log(`follow operation ${late} of ${last + 1}: ${await timeFollowing('Follow', () => number.fill(String(late)))}`);

  // Seeking 60 s back from the end, as bench-ui.mjs does at 80 s: the
  // time from the scrubber's change to the view showing the moment.
  const seeks = [];
  const shown = (t) => document.querySelector('[data-testid=seeking]')?.textContent === '' && Number(document.querySelector('[data-testid=sim-time]').dataset.seconds) === t;
  for (let i = 0; i < runs; i++) {
    await page.getByTestId('scrubber').fill(String(seconds * 10));
    await page.waitForFunction(shown, seconds, { polling: 'raf', timeout: 300_000 });
    seeks.push(
      await page.evaluate(
        ([value, t]) =>
          new Promise((resolve) => {
            const slider = document.querySelector('[data-testid=scrubber]');
            const start = performance.now();
            slider.value = String(value);
            slider.dispatchEvent(new Event('change', { bubbles: true }));
            const check = () => {
              const s = Number(document.querySelector('[data-testid=sim-time]').dataset.seconds);
              if (s === t && document.querySelector('[data-testid=seeking]').textContent === '') resolve(performance.now() - start);
              else requestAnimationFrame(check);
            };
            requestAnimationFrame(check);
          }),
        [(seconds - 60) * 10, seconds - 60],
      ),
    );
  }
  console.log(`seek ${seconds} s -> ${seconds - 60} s: median ${median(seeks).toFixed(0)} ms (of ${seeks.map((t) => t.toFixed(0)).join(', ')} ms)`);
} finally {
  await browser.close();
  server.close();
}
