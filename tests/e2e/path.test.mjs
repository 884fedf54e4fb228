// The request path panel: one client operation followed through the
// system, in a real browser.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appTest, axe, gotoApp, tabTo } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = process.env.CLUSTERLAB_BIN || path.join(root, 'target', 'release', 'clusterlab');

const until = (page, fn, arg, timeout = 60_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
const seconds = () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0);

/** Plays `example` fast until `t` simulated seconds, then pauses. */
async function playTo(page, example, t) {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption(example);
  await page.getByRole('slider', { name: /^Speed/ }).fill('8');
  await until(page, (t) => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= t, t);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
}

const panel = (page) => page.locator('section.request-path');
const status = (page) => panel(page).getByRole('status');
const steps = (page) => panel(page).locator('.path-steps li .path-text').allTextContents();

appTest('an operation followed by its number: the same path as the CLI prints, its start a click away', { timeout: 120_000 }, async ({ page }) => {
  await playTo(page, 'server-crash-failover', 12.5);
  const number = panel(page).getByLabel('Operation number');
  await number.fill('2995');
  await number.press('Enter');
  await until(page, () => document.querySelectorAll('.path-steps li').length > 0);
  assert.equal(
    await status(page).textContent(),
    'Operation 2995: clients (client 2995): read k426, invoked at 9.994s, no answer (timed out) at 10.994s, after 1s (8 steps)',
  );
  // What `clusterlab path engine/scenarios/server-crash-failover.json 2995`
  // prints natively (the run is the same in the browser).
  assert.deepEqual(await steps(page), [
    'lb receives request #3141533714 read k426 / from clients (sent at 9.994s)',
    'request #3141533708 read k426 / from lb to web2 not received: the process is down',
    'lb receives connection refused for request #3141533708 from web2 (sent at 10.003s)',
    'lb: connection to web2 failed (attempt 1); retrying',
    'request #3415212044 read k426 / from lb to web2 not received: the process is down',
    'lb receives connection refused for request #3415212044 from web2 (sent at 11.003s)',
    'lb: connection to web2 failed (attempt 2); retrying',
    'lb receives connection closed by the sender of request #3141533714: it gave up from clients (sent at 10.994s)',
  ]);
  assert.deepEqual(await panel(page).locator('.path-since').allTextContents(), [
    '+7.505ms', '+8.499ms', '+8.956ms', '+8.956ms', '+1.009s', '+1.009s', '+1.009s', '+1.015s',
  ]);
  assert.equal(await panel(page).locator('li.path-drop').count(), 2);
  // Paused with a path shown, the page passes axe.
  assert.deepEqual(await axe(page), []);
  // A step's time goes to that moment: the second refused connection,
  // sent at 11.003 s and received within a millisecond.
  await panel(page).locator('.path-steps li').nth(5).locator('button.path-since').click();
  await until(page, () => {
    const s = Number(document.querySelector('[data-testid=sim-time]').dataset.seconds);
    return document.querySelector('[data-testid=seeking]')?.textContent === '' && s >= 11.003 && s < 11.004;
  });
  // Its start: the run goes back to 9.994 s.
  await panel(page).getByRole('button', { name: 'Go to its start' }).click();
  await until(page, () => document.querySelector('[data-testid=seeking]')?.textContent === '' && Math.abs(Number(document.querySelector('[data-testid=sim-time]').dataset.seconds) - 9.994) < 0.001);
  // A seek is the same run: the path stays. Another fault schedule is
  // another run: it goes.
  assert.equal(await panel(page).locator('.path-steps li').count(), 8);
  await page.getByRole('button', { name: 'Heal all' }).click();
  await until(page, () => document.querySelectorAll('.path-steps li').length === 0);
});

appTest('the slowest and the latest failed, from the keyboard; a bad number is refused in words', { timeout: 120_000 }, async ({ page }) => {
  await playTo(page, 'abandoned-queue', 14);
  // P follows the slowest from anywhere (but a field).
  await page.keyboard.press('p');
  await until(page, () => /^Operation \d+: /.test(document.querySelector('.request-path [role=status]')?.textContent ?? ''));
  const byKey = await status(page).textContent();
  await panel(page).getByLabel('Operation number').fill('x');
  await panel(page).getByLabel('Operation number').press('Enter');
  await until(page, () => document.querySelector('.request-path [role=status]').textContent.includes('is not an operation number'));
  await tabTo(page, (el) => el.textContent === 'Slowest so far');
  await page.keyboard.press('Enter');
  await until(page, () => /^Operation \d+: /.test(document.querySelector('.request-path [role=status]')?.textContent ?? ''));
  assert.match(await status(page).textContent(), /no answer \(timed out\) at [\d.]+s, after 1s \(\d+ steps\)$/);
  assert.equal(await status(page).textContent(), byKey);
  const texts = await steps(page);
  assert.ok(texts.some((t) => t.startsWith('lb: queued in the backend: no server can take it now;')), texts.join('\n'));
  // Not a number: refused in words, and the path goes.
  const number = panel(page).getByLabel('Operation number');
  await number.fill('first');
  await number.press('Enter');
  await until(page, () => document.querySelector('.request-path [role=status]').textContent.includes('is not an operation number'));
  assert.equal(await panel(page).locator('.path-steps li').count(), 0);
  await tabTo(page, (el) => el.textContent === 'Latest failed');
  await page.keyboard.press('Enter');
  await until(page, () => /^Operation \d+: /.test(document.querySelector('.request-path [role=status]').textContent));
  assert.match(await status(page).textContent(), /^Operation \d+: .*(failed|timed out)/);
  // A number the run does not have.
  await number.fill('99999999');
  await panel(page).getByRole('button', { name: 'Follow' }).click();
  await until(page, () => /^The run has operations 0 to \d+ so far; 99999999 is not one of them\.$/.test(document.querySelector('.request-path [role=status]').textContent));
});

// Plays `example` until a violation lists an operation to follow, pauses,
// and follows it; its number once the panel shows its path.
async function followViolation(page, example) {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption(example);
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  const button = page.locator('.violations button', { hasText: /^Path of operation \d+$/ }).first();
  await button.waitFor({ timeout: 90_000 });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const op = (await button.textContent()).match(/\d+$/)[0];
  await button.click();
  await until(page, (op) => document.querySelector('.request-path [role=status]').textContent.startsWith(`Operation ${op}: `), op);
  return op;
}

appTest("a violation's operations each open their path", { timeout: 120_000 }, async ({ page }) => {
  await followViolation(page, 'db-async-failover');
  // Its first step is its client's request arriving.
  assert.match((await steps(page))[0], /^\S+ receives request #\d+ (read|write) k\d+/);
});

appTest("a lost Kafka write's path: acknowledged before any follower had it", { timeout: 120_000 }, async ({ page }) => {
  const op = await followViolation(page, 'kafka-acks1-loss');
  assert.ok((await status(page).textContent()).startsWith(`Operation ${op}: producer: send of record `));
  // acks=1: the leader answers from its own log; the record never reached b2 or b3.
  const texts = await steps(page);
  assert.equal(texts.length, 2, texts.join('\n'));
  assert.match(texts[0], /^b1 receives Produce p0: \d+ records?, acks=1 from producer/);
  assert.match(texts[1], /^producer receives Produce answer p0: offset \d+ from b1/);
});

appTest('late in a long run a path is followed over frames, its progress shown, to the same path as the CLI', { timeout: 240_000 }, async ({ page }) => {
  // raft-kv-five made 600 s long and played to its end. Its client history
  // keeps the first 100,000 operations (to about 50 s) and the lab's
  // checkpoints are about 32 s apart by then, so following the last one
  // means simulating some 18 s again (half a second here; a frame may
  // spend a tenth).
  const scenario = JSON.parse(fs.readFileSync(path.join(root, 'engine', 'scenarios', 'raft-kv-five.json'), 'utf8'));
  scenario.duration = '600s';
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clusterlab-')), 'long.json');
  fs.writeFileSync(file, JSON.stringify(scenario));
  await gotoApp(page);
  await page.getByTestId('import').setInputFiles(file);
  await page.getByTestId('share-status').filter({ hasText: 'Opened long.json.' }).waitFor();
  await page.getByRole('slider', { name: /^Speed/ }).fill('9');
  const play = page.getByRole('button', { name: 'Play', exact: true });
  if (await play.isVisible()) await play.click();
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]').dataset.seconds) >= 600, null, 180_000);
  await play.waitFor();
  // What the panel shows while it follows: each progress value with the
  // status beside it.
  await page.evaluate(() => {
    window.seen = [];
    const panel = document.querySelector('section.request-path');
    new MutationObserver(() => {
      const bar = panel.querySelector('.path-progress');
      if (bar) window.seen.push([bar.value, panel.querySelector('[role=status]').textContent]);
    }).observe(panel, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  const number = panel(page).getByLabel('Operation number');
  await number.fill('99999');
  await number.press('Enter');
  await until(page, () => document.querySelectorAll('.path-steps li').length > 0, null, 60_000);
  const seen = await page.evaluate(() => window.seen);
  assert.ok(seen.length > 0, 'no progress was shown');
  for (const [i, [value, text]] of seen.entries()) {
    assert.equal(text, 'Following operation 99999: simulating the run again from the checkpoint before it…');
    assert.ok(value >= (seen[i - 1]?.[0] ?? 0) && value < 1, `progress ${seen.map((s) => s[0]).join(', ')}`);
  }
  assert.equal(await panel(page).locator('.path-progress').count(), 0);
  // The same path as following it at once natively, up to the run's end.
  const printed = execFileSync(cli, ['path', file, '99999'], { encoding: 'utf8' }).trim().split('\n');
  const headline = printed[0].replace(/^operation/, 'Operation');
  const texts = printed.slice(1, -1).map((l) => l.replace(/^\+\S+\s+/, ''));
  assert.equal(await status(page).textContent(), `${headline} (${texts.length} steps)`);
  assert.deepEqual(await steps(page), texts);
});
