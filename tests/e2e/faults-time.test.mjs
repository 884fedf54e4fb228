// Faults from the faults panel, the fault timeline, seeking, branching,
// jumping to a violation and comparing variants, in a real browser.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appTest, gotoApp } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = process.env.CLUSTERLAB_BIN || path.join(root, 'target', 'release', 'clusterlab');

const until = (page, fn, arg, timeout = 30_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
const simSeconds = () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0);
const notSeeking = () => document.querySelector('[data-testid=seeking]')?.textContent === '';

/** The native CLI's fingerprint of `scenario` (an object) at `until`. */
function nativeHash(scenario, until) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clusterlab-')), 'scenario.json');
  fs.writeFileSync(file, JSON.stringify(scenario));
  return JSON.parse(execFileSync(cli, ['run', file, '--until', until], { encoding: 'utf8' })).trace_hash;
}

async function seekTo(page, seconds) {
  await page.getByTestId('scrubber').fill(String(seconds * 10));
  await until(page, (s) => document.querySelector('[data-testid=sim-time]')?.dataset.seconds === String(s) && document.querySelector('[data-testid=seeking]')?.textContent === '', seconds);
}

const exact = (name) => ({ name, exact: true });

appTest('every fault kind from the faults panel lands in the log and on the timeline', async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="web1"]').waitFor();
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.locator('[data-node="web1"]').click();
  const faults = page.locator('section.faults');
  const expected = [];
  const press = async (button, logText) => {
    await faults.getByRole('button', exact(button)).click();
    expected.push(logText);
    await page.locator('.events li', { hasText: `fault: ${logText}` }).first().waitFor();
    await until(page, (n) => document.querySelectorAll('.fault-list li').length === n, expected.length);
  };
  await press('Crash', 'crash web1');
  await until(page, () => document.querySelector('[data-node="web1"]').classList.contains('crashed'));
  await press('Restart', 'restart web1');
  await press('Pause process', 'pause web1');
  await until(page, () => document.querySelector('[data-node="web1"]').classList.contains('paused'));
  await press('Resume process', 'resume web1');
  await press('Power off', 'power off web1');
  await press('Restart', 'restart web1');
  await faults.getByLabel('Clock offset').fill('-250ms');
  await faults.getByLabel('drift (ppm)').fill('100');
  await press('Skew clock', "skew web1's clock by -250ms, drift 100 ppm");
  await faults.locator('[data-side="web1"]').check();
  await press('Partition ticked | rest', 'partition {web1} | {clients, lb, web2, web3}');
  await press('Heal all', 'heal every partition');
  await press('One way: ticked ↛ rest', 'one-way partition: {web1} cannot reach {clients, lb, web2, web3}');
  await press('Heal all', 'heal every partition');
  await faults.getByTestId('fault-link').selectOption({ label: 'lb – web2' });
  await faults.getByLabel('latency').fill('80ms');
  await faults.getByLabel('loss (%)').fill('25');
  await press('Degrade', 'degrade link lb - web2 (latency 80ms, loss 25%)');
  await until(page, () => document.querySelector('[data-link="lb-web2"]').closest('.link').classList.contains('degraded'));
  await press('Restore', 'restore link lb - web2');
  await press('Cut', 'cut link lb - web2');
  await press('Heal', 'heal link lb - web2');
  await press('Hold', 'hold link lb - web2');
  await until(page, () => document.querySelector('[data-link="lb-web2"]').closest('.link').classList.contains('held'));
  await press('Release', 'release link lb - web2');
  await until(page, () => !document.querySelector('[data-link="lb-web2"]').closest('.link').classList.contains('held'));
  // An operator's `set server ... state` on the load balancer.
  await page.locator('[data-node="lb"]').click();
  await faults.getByTestId('admin-server').selectOption({ label: 'lb_servers/web2 (ready)' });
  await faults.getByTestId('admin-state').selectOption('drain');
  await press('Set state', 'set server lb_servers/web2 state drain on lb');
  await until(page, () => /DRAIN/.test(document.querySelector('[data-node="web2"]')?.textContent ?? ''));
  await faults.getByTestId('admin-server').selectOption({ label: 'lb_servers/web2 (drain)' });
  await faults.getByTestId('admin-state').selectOption('ready');
  await press('Set state', 'set server lb_servers/web2 state ready on lb');
  await faults.getByTestId('admin-weight').fill('300%');
  await press('Set weight', 'set server lb_servers/web2 weight 300% on lb');
  await page.locator('.events li', { hasText: "web2's weight is 3 now (set server weight)" }).first().waitFor();
  // All applied, in order.
  const rows = await page.locator('.fault-list li .what').allTextContents();
  assert.deepEqual(rows, expected);
  assert.equal(await page.locator('.fault-list li.applied').count(), expected.length);
  // Their times read in seconds, exact to the nanosecond, not as an
  // unreadable "1911899.951us".
  const now = Number(await page.getByTestId('sim-time').getAttribute('data-seconds'));
  for (const value of await page.locator('.fault-list li input').evaluateAll((es) => es.map((e) => e.value))) {
    assert.match(value, /^\d+(\.\d{1,9})?s$|^\d+(\.\d{1,3})?ms$/);
    const seconds = parseFloat(value) / (value.endsWith('ms') ? 1000 : 1);
    assert.ok(Math.abs(seconds - now) < 1e-3, `${value} at ${now} s`);
  }

  // A bad value is refused with a message naming the field; nothing added.
  await faults.getByLabel('loss (%)').fill('250');
  await faults.getByRole('button', exact('Degrade')).click();
  await page.locator('.notice', { hasText: 'Loss: a share of messages is between 0 and 100 %, got 250' }).waitFor();
  assert.equal(await page.locator('.fault-list li').count(), expected.length);
  await page.locator('[data-node="lb"]').click();
  await faults.getByTestId('admin-weight').fill('heavy');
  await faults.getByRole('button', exact('Set weight')).click();
  await page.locator('.notice', { hasText: 'Weight: `heavy` is not a weight' }).waitFor();
  assert.equal(await page.locator('.fault-list li').count(), expected.length);
});

appTest('a held link shows what waits at it and delivers it all on release', async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="web2"]').waitFor();
  const faults = page.locator('section.faults');
  await faults.getByTestId('fault-link').selectOption({ label: 'lb – web2' });
  await faults.getByRole('button', exact('Hold')).click();
  // The requests the load balancer sends web2 pile up at the link (about
  // 100 a second: 20 is a wait longer than any request takes otherwise).
  const waiting = () => {
    const m = /^held · (\d+)$/.exec(document.querySelector('[data-link="lb-web2"]').closest('.link').querySelector('.cut-mark').textContent);
    return m ? Number(m[1]) : -1;
  };
  await page.waitForFunction(`(${waiting})() >= 20`, null, { timeout: 30_000, polling: 100 });
  // Screen readers hear it in the link's name.
  assert.match(await page.locator('[data-link="lb-web2"]').getAttribute('aria-label'), /^Cut the link between lb and web2 \(held: \d+ messages waiting\)$/);
  await faults.getByRole('button', exact('Release')).click();
  await page.locator('.events li', { hasText: 'fault: release link lb - web2' }).first().waitFor();
  await page.locator('.events li', { hasText: /released link lb - web2: the \d+ messages it held go on, in the order they reached it/ }).first().waitFor();
  await page.waitForFunction(`(${waiting})() === -1`, null, { timeout: 30_000, polling: 100 });
  // Held, not lost: once they are answered, the slowest request so far
  // is one that waited there.
  const released = Number(await page.getByTestId('sim-time').getAttribute('data-seconds'));
  await until(page, (t) => Number(document.querySelector('[data-testid=sim-time]').dataset.seconds) > t + 0.5, released);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByRole('button', exact('Slowest so far')).click();
  await page.locator('.path-steps li', { hasText: 'held: the link is held, it waits until released' }).first().waitFor();
});

appTest('a held link at its bound says it is full, and the log counts what it drops', async ({ page }) => {
  const scenario = JSON.parse(fs.readFileSync(path.join(root, 'engine', 'scenarios', 'web-three-servers.json'), 'utf8'));
  scenario.limits = { ...scenario.limits, held_backlog: 5 };
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clusterlab-')), 'small-hold.json');
  fs.writeFileSync(file, JSON.stringify(scenario));
  await gotoApp(page);
  await page.getByTestId('import').setInputFiles(file);
  await page.locator('[data-node="web2"]').waitFor();
  const faults = page.locator('section.faults');
  await faults.getByTestId('fault-link').selectOption({ label: 'lb – web2' });
  await faults.getByRole('button', exact('Hold')).click();
  await until(page, () => document.querySelector('[data-link="lb-web2"]')?.closest('.link').querySelector('.cut-mark').textContent === 'held · 5 · full');
  assert.equal(await page.locator('[data-link="lb-web2"]').getAttribute('aria-label'), 'Cut the link between lb and web2 (held: 5 messages waiting, full: more are dropped)');
  await page.locator('.events li', { hasText: 'the held link lb - web2 is full (limits.held_backlog: 5): a message to web2 dropped' }).first().waitFor();
});

appTest('the timeline moves and deletes faults; the run is rebuilt to the same moment', async ({ page }) => {
  await gotoApp(page);
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 4);
  await page.locator('[data-node="web2"]').click();
  await page.getByRole('button', { name: 'Crash web2' }).click();
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 8);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const here = await page.getByTestId('sim-time').getAttribute('data-seconds');
  // Move the crash to 1 s.
  const row = page.locator('.fault-list li').first();
  await row.getByRole('textbox').fill('1s');
  await row.getByRole('button', exact('Move')).click();
  await until(page, () => document.querySelector('.fault-list li input')?.value === '1s');
  await until(page, (s) => document.querySelector('[data-testid=sim-time]').dataset.seconds === s && document.querySelector('[data-testid=seeking]').textContent === '', here);
  assert.ok(await page.locator('[data-node="web2"]').evaluate((n) => n.classList.contains('crashed')));
  // Delete it: web2 never crashed in this run.
  await page.getByRole('button', { name: 'Delete “crash web2”' }).click();
  await page.getByText('No faults yet.').waitFor();
  await until(page, (s) => document.querySelector('[data-testid=sim-time]').dataset.seconds === s && document.querySelector('[data-testid=seeking]').textContent === '', here);
  assert.ok(!(await page.locator('[data-node="web2"]').evaluate((n) => n.classList.contains('crashed'))));
  // A time that does not parse is refused with a message.
  assert.equal(await page.locator('.fault-list li').count(), 0);
});

appTest('seeking shows the very state the run had; a fault at a past moment branches it', { timeout: 120_000 }, async ({ page }) => {
  assert.ok(fs.existsSync(cli), `no ${cli}: build it with cargo build --release -p clusterlab-cli`);
  const scenario = JSON.parse(fs.readFileSync(path.join(root, 'engine', 'scenarios', 'web-three-servers.json'), 'utf8'));
  await gotoApp(page);
  await page.getByRole('slider', { name: /^Speed/ }).fill('8');
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 20);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await seekTo(page, 10);
  const at10 = await page.getByTestId('trace-hash').textContent();
  assert.equal(at10, nativeHash(scenario, '10s'));
  await seekTo(page, 15);
  assert.equal(await page.getByTestId('trace-hash').textContent(), nativeHash(scenario, '15s'));
  await seekTo(page, 10);
  assert.equal(await page.getByTestId('trace-hash').textContent(), at10);
  // Branch: crash web3 at 10 s, then run on; the timeline holds the crash.
  await page.locator('[data-node="web3"]').click();
  await page.getByRole('button', { name: 'Crash web3' }).click();
  await page.locator('.fault-list li', { hasText: 'crash web3' }).waitFor();
  await seekTo(page, 14);
  const branched = { ...scenario, faults: [{ at: '10000000001ns', action: 'crash', node: 'web3' }] };
  assert.equal(await page.getByTestId('trace-hash').textContent(), nativeHash(branched, '14s'));
  await until(page, () => document.querySelector('[data-node="lb"] .badge').textContent.startsWith('2/3 UP'));
});

appTest('a click on a chart goes to that moment of the run', async ({ page }) => {
  await gotoApp(page);
  // Run to the scenario's end (60 s), where it stops.
  await page.getByRole('slider', { name: /^Speed/ }).fill('8');
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('sim-time').getAttribute('data-seconds'), '60');
  // The axis spans 0 s to 60 s over the plot's width (4 to 296 of 300 units).
  const svg = page.locator('.chart', { hasText: 'Latency' }).locator('svg');
  assert.match(await svg.getAttribute('aria-label'), /^Latency from 0s to 60s: /);
  const { width, height } = await svg.boundingBox();
  await svg.click({ position: { x: ((4 + (292 * 5) / 60) / 300) * width, y: height / 2 } });
  await until(page, () => {
    const s = Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds);
    return Math.abs(s - 5) < 0.5 && document.querySelector('[data-testid=seeking]')?.textContent === '';
  });
});

appTest('a violation jumps the run to the moment it became certain', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption('db-async-failover');
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  const jump = page.locator('.violations button.jump').first();
  await jump.waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const label = await jump.textContent();
  const target = Number(label.match(/Go to ([\d.]+) (ms|s)/).slice(1, 3).reduce((v, u) => (u === 'ms' ? v / 1000 : Number(v))));
  assert.match(await page.locator('.violations .ops li').first().textContent(), /invoked at/);
  await jump.click();
  await until(page, notSeeking);
  const now = Number(await page.getByTestId('sim-time').getAttribute('data-seconds'));
  assert.ok(Math.abs(now - target) < 0.001, `at ${now}, wanted ${target}`);
});

appTest('two variants run side by side with the same faults', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption('db-async-failover');
  await page.getByRole('button', { name: 'Pin as A' }).click();
  await page.getByLabel('Scenario').selectOption('db-semi-sync-failover');
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  const table = page.locator('table.compare');
  await table.waitFor();
  await until(page, () => {
    const row = [...document.querySelectorAll('table.compare tr')].find((r) => r.textContent.startsWith('consistency'));
    return row && /Not linearizable/.test(row.cells[1].textContent) && /Linearizable so far/.test(row.cells[2].textContent);
  }, undefined, 90_000);
  // A is drawn dashed in the charts.
  assert.ok((await page.locator('.chart polyline.baseline').first().getAttribute('points')).length > 0);
  await page.getByRole('button', { name: 'Stop comparing' }).click();
  await page.getByRole('button', { name: 'Pin as A' }).waitFor();
});

appTest('random faults (nemesis) are planned from the seed as the CLI plans them, and replay alike', { timeout: 120_000 }, async ({ page }) => {
  assert.ok(fs.existsSync(cli), `no ${cli}: build it with cargo build --release -p clusterlab-cli`);
  const file = path.join(root, 'engine', 'scenarios', 'web-three-servers.json');
  await gotoApp(page);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await seekTo(page, 10);
  const faults = page.locator('section.faults');
  // A bad interval is refused, naming the field; nothing is planned.
  await faults.getByTestId('nemesis-interval').fill('often');
  await faults.getByRole('button', exact('Plan random faults')).click();
  await page.locator('.notice', { hasText: 'Interval: `often` is not a duration' }).waitFor();
  assert.equal(await page.locator('.fault-list li').count(), 0);
  // Partition, kill and pause are ticked; clock is not.
  assert.deepEqual(
    await faults.locator('[data-nemesis]').evaluateAll((es) => es.filter((e) => e.checked).map((e) => e.dataset.nemesis)),
    ['partition', 'kill', 'pause'],
  );
  await faults.getByTestId('nemesis-interval').fill('2s');
  await faults.getByTestId('nemesis-span').fill('a while');
  await faults.getByRole('button', exact('Plan random faults')).click();
  await page.locator('.notice', { hasText: 'For: `a while` is not a duration' }).waitFor();
  assert.equal(await page.locator('.fault-list li').count(), 0);
  await faults.getByTestId('nemesis-span').fill('20s');
  await faults.getByRole('button', exact('Plan random faults')).click();
  const status = await faults.getByTestId('nemesis-planned').filter({ hasText: 'Planned' }).textContent();
  const n = Number(status.match(/Planned (\d+) faults on every node but the clients, until 30s/)[1]);
  // The CLI plans the very same faults from the scenario's seed.
  const planned = JSON.parse(execFileSync(cli, ['nemesis', file, '--from', '10s', '--until', '30s', '--interval', '2s', '--faults', 'partition,kill,pause'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  assert.equal(planned.faults.length, n);
  await until(page, (k) => document.querySelectorAll('.fault-list li').length === k, n);
  const times = await page.locator('.fault-list li input').evaluateAll((es) => es.map((e) => e.value));
  assert.deepEqual(times, planned.faults.map((f) => f.at));
  assert.equal(await page.locator('.fault-list li.applied').count(), 0, 'all in the future');
  // Run through them: the same run as the CLI's.
  await seekTo(page, 31);
  assert.equal(await page.locator('.fault-list li.applied').count(), n);
  assert.equal(await page.getByTestId('trace-hash').textContent(), nativeHash(planned, '31s'));
  // Once the schedule changes (here, one of its faults deleted), the
  // status no longer describes it and goes.
  await page.locator('.fault-list li').last().locator('button.danger').click();
  await until(page, (k) => document.querySelectorAll('.fault-list li').length === k, n - 1);
  assert.equal(await faults.getByTestId('nemesis-planned').textContent(), '');
});
