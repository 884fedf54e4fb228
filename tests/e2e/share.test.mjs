// Share links, saved work, scenario files: the round trip gives the very
// same run; old links keep opening; bad links and files are refused with a
// message and the work left as it was.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appTest, gotoApp } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = process.env.CLUSTERLAB_BIN || path.join(root, 'target', 'release', 'clusterlab');
const fixtures = path.join(root, 'app', 'tests', 'fixtures', 'share-links');

const until = (page, fn, arg, timeout = 60_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
const settled = (page) => until(page, () => document.querySelector('[data-testid=seeking]')?.textContent === '' && document.querySelector('[data-node]'));
const seconds = () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0);
const state = async (page) => ({
  ns: await page.getByTestId('sim-time').getAttribute('data-ns'),
  hash: await page.getByTestId('trace-hash').textContent(),
  faults: await page.locator('.fault-list li .what').allTextContents(),
});

function nativeHash(scenarioFile, ns) {
  return JSON.parse(execFileSync(cli, ['run', scenarioFile, '--until', `${ns}ns`], { encoding: 'utf8' })).trace_hash;
}

appTest('a share link opens the identical run, at its moment, in a fresh browser', { timeout: 120_000 }, async ({ page, context, baseURL }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption('db-async-failover');
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  await until(page, `(${seconds})() >= 3`);
  await page.locator('[data-node="db2"]').click();
  await page.getByRole('button', { name: 'Crash db2' }).click();
  await until(page, `(${seconds})() >= 7`);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByRole('button', { name: 'Share link' }).click();
  const link = await page.getByTestId('share-link').inputValue();
  assert.match(link, /#v1\.[A-Za-z0-9_-]+$/);
  assert.match(await page.getByTestId('share-status').textContent(), /opens this very run at/);
  const before = await state(page);
  assert.equal(before.faults.length, 3, 'the example\'s two faults and the crash');

  // Another browser profile: nothing saved, only the link.
  const browser = context.browser();
  const other = await browser.newContext({ baseURL });
  try {
    const p2 = await other.newPage();
    await p2.goto(link);
    await settled(p2);
    await until(p2, (ns) => document.querySelector('[data-testid=sim-time]').dataset.ns === ns, before.ns);
    assert.deepEqual(await state(p2), before);
    assert.equal(await p2.locator('.notice').textContent(), '');
  } finally {
    await other.close();
  }
});

appTest('links shared by earlier versions still open to the same run', { timeout: 180_000 }, async ({ page }) => {
  assert.ok(fs.existsSync(cli), `no ${cli}: build it with cargo build --release -p clusterlab-cli`);
  const links = fs.readdirSync(fixtures).filter((f) => f.endsWith('.link.txt')).sort();
  assert.ok(links.length >= 3);
  for (const f of links) {
    // `at_ns: ...` and `link: #v1....` lines.
    const link = fs.readFileSync(path.join(fixtures, f), 'utf8').match(/^link: (#v\d+\.\S+)$/m)[1];
    // A fragment-only navigation does not load the page again: reload.
    await page.goto(`./${link}`);
    await page.reload();
    await settled(page);
    // A link at time zero plays on, as any run opened from its start: pause
    // it, then compare wherever it is.
    if (await page.getByRole('button', { name: 'Pause', exact: true }).isVisible()) {
      await page.getByRole('button', { name: 'Pause', exact: true }).click();
    }
    await until(page, () => Number(document.querySelector('[data-testid=sim-time]').dataset.ns) > 0);
    const ns = await page.getByTestId('sim-time').getAttribute('data-ns');
    const want = nativeHash(path.join(fixtures, f.replace('.link.txt', '.scenario.json')), ns);
    assert.equal(await page.getByTestId('trace-hash').textContent(), want, f);
  }
});

appTest('bad links are refused with a reason and the saved work opens untouched', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption('link-cut');
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  await until(page, `(${seconds})() >= 4`);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  // Saved within a couple of seconds.
  await until(page, () => (localStorage.getItem('clusterlab.work') ?? '').includes('"at_ns"'));
  const good = (await page.evaluate(() => {
    document.querySelector('.share button.primary').click();
    return new Promise((r) => setTimeout(() => r(location.hash), 50));
  }));
  assert.match(good, /^#v1\./);
  await page.evaluate(() => history.replaceState(null, '', location.pathname));
  // The saved work, without the moment it was written.
  const work = () => page.evaluate(() => {
    const w = JSON.parse(localStorage.getItem('clusterlab.work'));
    delete w.saved_at_ms;
    return w;
  });
  const saved = await work();
  const cases = [
    [`${good.slice(0, good.length - 12)}`, /incomplete or damaged/],
    ['#v9.AAAAAAAA', /newer Cluster Lab/],
    ['#v1.%%%%', /character/],
    [`#v1.${'A'.repeat(70_000)}`, /too long/],
    ['#hello', /not a Cluster Lab share link/],
  ];
  for (const [hash, says] of cases) {
    await page.goto(`./${hash}`);
    await page.reload();
    await page.locator('.notice', { hasText: 'This link could not be opened' }).waitFor();
    assert.match(await page.locator('.notice').textContent(), says, hash.slice(0, 40));
    // The saved work opened instead, unchanged: the same scenario, still saved.
    await settled(page);
    assert.equal(await page.getByLabel('Scenario').inputValue(), 'link-cut');
    assert.deepEqual(await work(), saved);
  }
  // Pasting a bad link into the address bar of a running lab changes nothing.
  await page.goto('./');
  await settled(page);
  const before = await state(page);
  await page.evaluate(() => { location.hash = '#v1.AAAA'; });
  await page.locator('.notice', { hasText: 'This link could not be opened' }).waitFor();
  assert.equal(await page.getByLabel('Scenario').inputValue(), 'link-cut');
  assert.ok((await state(page)).faults.length === before.faults.length);
});

appTest('reloading keeps the work: scenario, faults and moment', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption('server-crash-failover');
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  await until(page, `(${seconds})() >= 3`);
  await page.locator('[data-node="web1"]').click();
  await page.getByRole('button', { name: 'Crash web1' }).click();
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const before = await state(page);
  await until(page, (ns) => (localStorage.getItem('clusterlab.work') ?? '').includes(`"at_ns":${ns}`), before.ns);
  await page.reload();
  await settled(page);
  await until(page, (ns) => document.querySelector('[data-testid=sim-time]').dataset.ns === ns, before.ns);
  assert.deepEqual(await state(page), before);
});

appTest('scenario files export and import; a bad file is refused and changes nothing', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption('web-cache-db');
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export scenario' }).click()]);
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.version, 1);
  assert.ok(exported.nodes.length > 3);
  // The history and the chart data download too.
  const [history] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export history' }).click()]);
  assert.ok(fs.readFileSync(await history.path(), 'utf8').length > 2);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export chart data (CSV)' }).click()]);
  assert.match(fs.readFileSync(await csv.path(), 'utf8'), /^start_s,end_s,throughput_ok_per_s,/);

  // Switch away, then import the exported file: the scenario comes back.
  await page.getByLabel('Scenario').selectOption('link-cut');
  const input = page.getByTestId('import');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterlab-'));
  const good = path.join(tmp, 'mine.json');
  fs.writeFileSync(good, JSON.stringify(exported));
  await input.setInputFiles(good);
  await page.getByTestId('share-status').filter({ hasText: 'Opened mine.json.' }).waitFor();
  assert.equal(await page.getByLabel('Scenario').inputValue(), 'web-cache-db');

  // Bad files: not JSON, a newer format, an invalid scenario, too large.
  const before = await state(page);
  const bad = [
    ['broken.json', '{"version": 1, "nodes": [', /broken\.json. could not be opened/],
    ['future.json', '{"version": 99, "nodes": []}', /newer/],
    ['invalid.json', JSON.stringify({ ...exported, nodes: exported.nodes.slice(1) }), /could not be opened/],
    ['huge.json', ' '.repeat(1_100_000), /a scenario may be at most \d+ bytes/],
  ];
  for (const [name, text, says] of bad) {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    await input.setInputFiles(f);
    await page.locator('.notice', { hasText: name }).waitFor();
    assert.match(await page.locator('.notice').textContent(), says);
    assert.equal(await page.getByLabel('Scenario').inputValue(), 'web-cache-db');
    assert.deepEqual((await state(page)).faults, before.faults);
  }
});

appTest('a scenario still being built (a draft) is kept over a reload', { timeout: 60_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="web1"]').waitFor();
  // A client with no target yet: the run stops, the draft is drawn.
  await page.locator('button[data-kind="client"]').click();
  await page.locator('.draft-banner').waitFor();
  await until(page, () => (localStorage.getItem('clusterlab.work') ?? '').includes('"draft":true'));
  const names = await page.locator('[data-node]').evaluateAll((ns) => ns.map((n) => n.dataset.node));
  assert.ok(names.length === 6, names.join(', '));
  await page.reload();
  await page.locator('.draft-banner').waitFor();
  assert.deepEqual(await page.locator('[data-node]').evaluateAll((ns) => ns.map((n) => n.dataset.node)), names);
});
