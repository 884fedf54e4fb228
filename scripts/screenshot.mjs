// The README's screenshots: the release build (dist/, built by
// `trunk build --release`) in headless Debian Chromium at 1360x900, showing
// the asynchronous-failover example after its primary died, with the
// consistency panel's verdict and the standby selected, in the light and
// the dark theme; a lesson beside the lab (health checks, step 2, run
// to its end with its goals met); and the request path panel with the
// slowest request of `abandoned-queue` at 14 s.
//
//   node scripts/screenshot.mjs [out-dir]     # default docs/: screenshot.png, screenshot-dark.png, screenshot-lesson.png, screenshot-path.png
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const { chromium } = require('playwright-core');
const { startServer } = await import(path.join(root, 'tests', 'serve-dist.mjs'));
const { CHROMIUM_ARGS, CHROMIUM_PATH } = await import(path.join(root, 'tests', 'chromium.mjs'));

const dist = path.join(root, 'dist');
if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('no dist/index.html: run `trunk build --release` first');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'docs'));

const { url, server } = await startServer({ root: dist });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });

/** Opens `example` in `page`, plays it at `speed` (the slider's step)
 * until `t` simulated seconds, and pauses. */
async function playTo(page, example, speed, t, timeout) {
  await page.goto(url);
  await page.getByLabel('Scenario').selectOption(example);
  await page.getByRole('slider', { name: /^Speed/ }).fill(String(speed));
  const seconds = () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0);
  await page.waitForFunction(`(${seconds})() >= ${t}`, null, { timeout, polling: 100 });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
}

try {
  for (const [colorScheme, file] of [['light', 'screenshot.png'], ['dark', 'screenshot-dark.png']]) {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, colorScheme });
    await playTo(page, 'db-async-failover', 6, 9, 60_000);
    await page.locator('[data-node="db2"]').click();
    await page.locator('.verdicts .verdict.bad').waitFor();
    const out = path.join(outDir, file);
    await page.screenshot({ path: out });
    console.log(`wrote ${out}`);
    await page.close();
  }
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await page.goto(`${url}#lesson/health-checks/2`);
  await page.getByRole('button', { name: 'Show the solution', exact: true }).click();
  await page.getByRole('button', { name: 'Make these changes in the lab', exact: true }).click();
  await page.getByRole('slider', { name: /^Speed/ }).fill('7');
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.getByTestId('step-status').getByText(/Step 2 done/).waitFor({ timeout: 60_000 });
  await page.locator('.goals').scrollIntoViewIfNeeded();
  const out = path.join(outDir, 'screenshot-lesson.png');
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
  await page.close();
  {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await playTo(page, 'abandoned-queue', 9, 14, 90_000);
    await page.getByRole('button', { name: 'Slowest so far' }).click();
    await page.locator('.path-steps li').first().waitFor();
    const panel = page.locator('section.request-path');
    await panel.scrollIntoViewIfNeeded();
    const out = path.join(outDir, 'screenshot-path.png');
    await panel.screenshot({ path: out });
    console.log(`wrote ${out}`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
