// The lab in a real browser: the release build, headless Chromium.
import assert from 'node:assert/strict';
import { appTest, axe, gotoApp } from './harness.mjs';

/** Waits until `fn` (run in the page) returns something truthy. */
const until = (page, fn, arg, timeout = 30_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });

const number = (text) => Number(String(text).match(/-?[\d.]+/)?.[0] ?? NaN);

appTest('the lab loads its wasm, renders the cluster and traffic flows', async ({ page }) => {
  const wasm = page.waitForResponse((res) => res.url().endsWith('.wasm'));
  await gotoApp(page);
  const res = await wasm;
  assert.equal(res.headers()['content-type'], 'application/wasm');
  await page.getByRole('heading', { level: 1, name: 'Cluster Lab' }).waitFor();
  for (const name of ['clients', 'lb', 'web1', 'web2', 'web3']) {
    await page.locator(`[data-node="${name}"]`).waitFor();
  }
  // Simulated time moves and events are processed.
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 3);
  const events = number(await page.getByTestId('events').textContent());
  assert.ok(events > 1000, `only ${events} events after 3 s`);
  // The throughput chart shows the 300 requests per second arriving.
  const tput = page.locator('.chart', { hasText: 'Throughput' }).locator('.chart-now');
  await until(page, (el) => /ok \d+/.test(el.textContent), await tput.elementHandle());
  const rate = number(await tput.textContent());
  assert.ok(rate > 240 && rate < 360, `throughput ${rate}`);
  // Events keep coming as time passes.
  await until(page, (n) => Number(document.querySelector('[data-testid=events]').textContent) > n, events);
  // Messages are on the wire.
  assert.match(await page.locator('.in-flight').textContent(), /^\d+ messages? on the wire$/);
});

appTest('crashing a server: the load balancer marks it DOWN and errors show', async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="web2"]').waitFor();
  // Run ten times faster so the health checks (every second) act quickly.
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 5);
  await page.locator('[data-node="web2"]').click();
  await page.getByRole('button', { name: 'Crash web2' }).click();
  // The retries fold into one line that counts up in place: the row is not
  // added again, so a screen reader (aria-relevant="additions") reads it
  // once. Slowly (speed 0.1x), so that the line grows over many frames.
  assert.equal(await page.locator('ol.events').getAttribute('aria-relevant'), 'additions');
  await page.getByRole('slider', { name: /^Speed/ }).fill('0');
  const retries = page.locator('.events li', { hasText: 'lb: connection to web2 failed; retrying' }).last();
  await retries.evaluate((el) => { el.dataset.seen = 'yes'; });
  const before = number((await retries.textContent()).match(/\(x(\d+)/)?.[1] ?? '1');
  await until(page, ([n]) => {
    const rows = [...document.querySelectorAll('.events li')].filter((li) => li.textContent.includes('lb: connection to web2 failed; retrying'));
    const last = rows[rows.length - 1];
    return last?.dataset.seen === 'yes' && Number(last.querySelector('.repeat')?.textContent.match(/\d+/)?.[0] ?? 1) > n;
  }, [before]);
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  // The node shows as crashed, and the inspector offers a restart.
  await page.getByRole('button', { name: 'Restart web2' }).waitFor();
  await until(page, () => document.querySelector('[data-node="web2"]').classList.contains('crashed'));
  // HAProxy semantics: three refused checks, one per second, then DOWN.
  await until(page, () => document.querySelector('[data-node="lb"] .badge').textContent.startsWith('2/3 UP'));
  await page.locator('.events li', { hasText: 'server web2 is DOWN' }).waitFor();
  // Requests caught on web2 failed or timed out: the error chart went up.
  const errors = page.locator('.chart', { hasText: 'Errors and timeouts' });
  await until(page, (el) => Number(el.getAttribute('points')?.split(' ').some((p) => parseFloat(p.split(',')[1]) < 100)), await errors.locator('polyline.series:not(.baseline)').elementHandle());
  // The crash is marked on the charts' time axis, and said in words.
  assert.equal(await errors.locator('.fault-mark').count(), 1);
  assert.match(await errors.locator('svg').getAttribute('aria-label'), /^Errors and timeouts from 0s to 60s: failed [\d.]+ %; faults at [\d.]+s$/);
  // Restart: it comes back UP after two good checks.
  await page.getByRole('button', { name: 'Restart web2' }).click();
  await until(page, () => document.querySelector('[data-node="lb"] .badge').textContent.startsWith('3/3 UP'));
  await page.locator('.events li', { hasText: 'server web2 is UP' }).waitFor();
});

appTest('another scenario starts a fresh event log', async ({ page }) => {
  await gotoApp(page);
  await page.locator('.events li', { hasText: 'web3 started' }).waitFor();
  // The semi-sync example has five nodes too: its five start lines must
  // replace the first scenario's, not hide behind their rows.
  await page.getByLabel('Scenario').selectOption({ label: 'Semi-synchronous failover keeps acknowledged writes' });
  await page.locator('.events li', { hasText: 'writer started' }).waitFor();
  const texts = await page.locator('.events li span:first-of-type').allTextContents();
  assert.deepEqual(texts.slice(0, 5), ['writer started', 'reader started', 'db1 started', 'db2 started', 'db3 started']);
  assert.ok(!texts.some((t) => /^(clients|lb|web\d) started$/.test(t)), texts.join(' | '));
});

appTest('the event log follows the newest line until the reader scrolls up', async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption({ label: 'Kafka: three brokers, acks=all, a broker dies' });
  const log = page.locator('ol.events');
  const atBottom = (el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
  // More lines than the list shows, and the newest one in view.
  await until(page, (el) => el.scrollHeight > 2 * el.clientHeight, await log.elementHandle());
  await until(page, atBottom, await log.elementHandle());
  // Scrolled up to read, it stays put while lines arrive (b1 dies at 10 s).
  await log.evaluate((el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
  await page.getByRole('slider', { name: /^Speed/ }).fill('8');
  await page.locator('.events li', { hasText: 'fault: crash b1' }).waitFor({ state: 'attached' });
  assert.equal(await log.evaluate((el) => el.scrollTop), 0);
  // Back at the bottom, it follows again: a fault injected now adds a
  // line (the run itself may have said all it had to say by then).
  await log.evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event('scroll')); });
  const lines = await log.locator('li').count();
  await page.locator('[data-node="b2"]').click();
  await page.getByRole('button', { name: 'Crash b2' }).click();
  await page.locator('.events li', { hasText: 'fault: crash b2' }).waitFor({ state: 'attached' });
  assert.ok(await log.locator('li').count() > lines);
  await until(page, atBottom, await log.elementHandle());
});

appTest('a run that stopped at its end does not keep the next scenario paused', async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption({ label: 'Kafka: three brokers, acks=all, a broker dies' });
  await page.getByRole('slider', { name: /^Speed/ }).fill('10');
  await page.getByText(/are over\. Press Play to keep going/).waitFor();
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
  await page.getByLabel('Scenario').selectOption({ label: 'A server crashes and comes back' });
  await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) > 0);
  // Paused by the learner, the next one waits.
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByLabel('Scenario').selectOption({ label: 'A link to one server is cut' });
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
  assert.equal(await page.getByTestId('sim-time').getAttribute('data-seconds'), '0');
});

appTest("a log line's time goes to that moment, by click or from the keyboard", async ({ page }) => {
  await gotoApp(page);
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 2);
  await page.locator('[data-node="web2"]').click();
  await page.getByRole('button', { name: 'Crash web2' }).click();
  await page.locator('.events li', { hasText: 'server web2 is DOWN' }).waitFor();
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const seconds = (text) => parseFloat(text) / (text.endsWith('ms') ? 1000 : 1);
  const settled = (t) => until(page, (t) => {
    const el = document.querySelector('[data-testid=sim-time]');
    return document.querySelector('[data-testid=seeking]')?.textContent === '' && Math.abs(Number(el.dataset.seconds) - t) < 0.001;
  }, t);
  // Click: the run goes back to the crash; the log ends there.
  const crash = page.locator('.events li', { hasText: 'fault: crash web2' });
  const at = seconds(await crash.locator('time').textContent());
  await crash.getByRole('button').click();
  await settled(at);
  await until(page, () => [...document.querySelectorAll('.events li')].at(-1)?.textContent.includes('web2 crashed'));
  assert.equal(await page.locator('.events li', { hasText: 'server web2 is DOWN' }).count(), 0);
  // Keyboard: the log is one tab stop; End, then Up, then Enter.
  await page.locator('ol.events').focus();
  await page.keyboard.press('End');
  await until(page, () => document.activeElement?.classList.contains('log-time') && document.activeElement.closest('li') === [...document.querySelectorAll('.events li')].at(-1));
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  const target = await page.evaluate(() => document.activeElement.textContent);
  const lines = await page.locator('.events li').count();
  await page.keyboard.press('Enter');
  await settled(seconds(target));
  assert.equal(await page.evaluate(() => document.activeElement?.matches('ol.events')), true);
  assert.ok(await page.locator('.events li').count() <= lines);
});

appTest('a link can be cut and healed from the keyboard', async ({ page }) => {
  await gotoApp(page);
  const link = page.getByRole('button', { name: 'Cut the link between lb and web3' });
  await link.focus();
  await page.keyboard.press('Enter');
  const heal = page.getByRole('button', { name: 'Heal the cut link between lb and web3' });
  await heal.waitFor();
  await page.locator('.events li', { hasText: 'fault: cut link lb - web3' }).waitFor();
  await heal.focus();
  await page.keyboard.press(' ');
  await page.getByRole('button', { name: 'Cut the link between lb and web3' }).waitFor();
  await page.locator('.events li', { hasText: 'fault: heal link lb - web3' }).waitFor();
});

appTest('pause stops time; step processes one event', async ({ page }) => {
  await gotoApp(page);
  await until(page, () => Number(document.querySelector('[data-testid=events]').textContent) > 100);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const before = await page.getByTestId('events').textContent();
  const timeBefore = await page.getByTestId('sim-time').textContent();
  // Several frames later, nothing moved.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r)))));
  assert.equal(await page.getByTestId('events').textContent(), before);
  assert.equal(await page.getByTestId('sim-time').textContent(), timeBefore);
  await page.getByRole('button', { name: 'Step' }).click();
  await until(page, (b) => document.querySelector('[data-testid=events]').textContent === String(Number(b) + 1), before);
});

appTest('switching scenarios starts the new one from zero', async ({ page }) => {
  await gotoApp(page);
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 1);
  await page.getByLabel('Scenario').selectOption('closed-loop-overload');
  await page.getByRole('heading', { name: 'Closed-loop overload' }).waitFor();
  assert.equal(await page.locator('[data-node="web3"]').count(), 0);
  await page.locator('[data-node="web2"]').waitFor();
});

appTest(
  'a panic shows a visible error instead of freezing',
  { allow: { console: [/deliberate panic/, /unreachable/i], pageerror: [/unreachable/i, /deliberate panic/] } },
  async ({ page }) => {
    await gotoApp(page);
    await page.locator('[data-node="web1"]').waitFor();
    await page.evaluate(() => {
      try {
        window.wasmBindings.debug_panic();
      } catch {
        // The abort after the panic surfaces here; the page must show it.
      }
    });
    const alert = page.locator('#fatal');
    await alert.waitFor({ state: 'visible' });
    assert.match(await alert.textContent(), /internal error.*Reload the page/s);
    assert.match(await alert.textContent(), /deliberate panic from debug_panic/);
  },
);

appTest(
  'reduced motion: no moving messages, the count stays',
  { contextOptions: { reducedMotion: 'reduce' } },
  async ({ page }) => {
    await gotoApp(page);
    await page.locator('[data-node="web1"]').waitFor();
    assert.equal(await page.locator('.dots').evaluate((el) => getComputedStyle(el).display), 'none');
    await page.locator('.in-flight').waitFor();
  },
);

appTest('a load balancer shows its configuration as haproxy.cfg, and it stays open while the run goes on', async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="lb"]').click();
  const summary = page.locator('.inspector summary', { hasText: 'As haproxy.cfg' });
  await summary.focus();
  await page.keyboard.press('Enter');
  const cfg = page.getByLabel('lb as haproxy.cfg');
  await cfg.waitFor();
  const text = await cfg.textContent();
  for (const line of ['frontend lb', '    default_backend lb_servers', 'backend lb_servers', '    balance roundrobin']) {
    assert.ok(text.split('\n').includes(line), `missing ${JSON.stringify(line)} in\n${text}`);
  }
  // Live rows re-render every frame; the open section must survive that.
  const t0 = Number(await page.getByTestId('sim-time').getAttribute('data-seconds'));
  await until(page, (t) => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) > t + 1, t0);
  assert.ok(await page.locator('.inspector details.config').evaluate((d) => d.open));
  // Other kinds of node have none.
  await page.locator('[data-node="web1"]').click();
  await page.getByRole('heading', { name: 'web1' }).waitFor();
  assert.equal(await page.locator('.inspector details.config').count(), 0);
});

appTest('a cache shows its redis.conf, rewritten when Sentinel promotes it', { timeout: 90_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption('redis-sentinel-failover');
  await page.locator('[data-node="c3"]').click();
  await page.locator('.inspector summary', { hasText: 'As redis.conf' }).click();
  const conf = page.getByLabel('c3 as redis.conf');
  const lines = async () => (await conf.textContent()).split('\n');
  // Redis's own names; c3 replicates c1, and the sentinels promote it
  // first (its replica_priority is the lowest).
  for (const line of ['maxmemory-policy noeviction', 'replica-priority 50', 'appendonly no']) {
    assert.ok((await lines()).includes(line), `missing ${line}`);
  }
  assert.ok((await lines()).some((l) => /^replicaof 10\.\d+\.\d+\.\d+ 6379$/.test(l)), (await lines()).join('\n'));
  // The sentinels promote c3 during the partition: REPLICAOF NO ONE, and
  // CONFIG REWRITE takes the line out of the file.
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  await until(page, () => !document.querySelector('.inspector pre')?.textContent.includes('\nreplicaof '), undefined, 60_000);
  assert.match(await page.locator('[data-node="c3"] .badge').textContent(), /^primary/);
  assert.ok(await page.locator('.inspector details.config').evaluate((d) => d.open), 'the file stays open as it changes');
});

appTest('the consistency panel reports lost acknowledged writes in an asynchronous failover', async ({ page }) => {
  await gotoApp(page);
  const verdict = page.locator('.verdicts [role=status]');
  await verdict.waitFor();
  // The opening scenario stores nothing: not judged.
  assert.match(await verdict.textContent(), /^Not judged/);
  await page.getByLabel('Scenario').selectOption('db-async-failover');
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  // The primary is cut off at 5 s and dies at 5.5 s; by 8 s the checker
  // has seen the writes it acknowledged and lost.
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 8);
  await until(page, (el) => el.textContent.startsWith('Not linearizable since '), await verdict.elementHandle());
  const lost = page.locator('.verdicts div', { hasText: 'lost acknowledged writes' }).locator('dd');
  await until(page, (el) => /^\d+, the first at /.test(el.textContent), await lost.elementHandle());
});

appTest('at the end of a run the checker reads every key once more: a lagging replica loses nothing', async ({ page }) => {
  await gotoApp(page);
  const verdicts = page.locator('.verdicts');
  await page.getByLabel('Scenario').selectOption('db-replica-lag');
  await page.getByRole('slider', { name: /^Speed/ }).fill('9');
  // Before the end: no final reads yet.
  assert.equal(await verdicts.locator('div', { hasText: 'final reads' }).count(), 0);
  await page.getByText(/The scenario's 20s are over/).waitFor();
  const row = (term) => verdicts.locator('div', { has: page.locator('dt', { hasText: term }) }).locator('dd');
  await until(page, (el) => el.textContent.startsWith('10 of 10 keys, read after the run'), await row('final reads').elementHandle());
  assert.equal(await row('lost acknowledged writes').textContent(), 'none');
  // Playing on past the end drops them: the verdict is the live one again.
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await until(page, () => ![...document.querySelectorAll('.verdicts dt')].some((dt) => dt.textContent === 'final reads'));
});

/** Waits until the inspector has a row whose term matches `dt` and whose value matches `dd` (the rows are re-rendered every frame). */
const untilRow = (page, dt, dd) =>
  until(
    page,
    ([dt, dd]) =>
      [...document.querySelectorAll('.inspector .details div')].some(
        (row) => new RegExp(dt).test(row.querySelector('dt')?.textContent) && new RegExp(dd).test(row.querySelector('dd')?.textContent),
      ),
    [dt, dd],
  );

/** Waits until a row of an inspector table has cells matching `cells` (regexes, in order). */
const untilTableRow = (page, cells) =>
  until(
    page,
    (cells) =>
      [...document.querySelectorAll('.inspector .detail-table tbody tr')].some((tr) => {
        const texts = [...tr.children].map((c) => c.textContent);
        return texts.length === cells.length && cells.every((re, i) => new RegExp(re).test(texts[i]));
      }),
    cells,
  );

appTest('the inspector says in words what failure detectors make of the nodes they watch', async ({ page }) => {
  await gotoApp(page);
  // A database replica watches its primary's heartbeats.
  await page.getByLabel('Scenario').selectOption('db-async-failover');
  await page.locator('[data-node="db2"]').click();
  await page.getByRole('heading', { name: 'db2' }).waitFor();
  await untilRow(page, '^liveness of db1 \\(primary\\)$', '^alive$');
  // Each sentinel watches every cache of its group. c1 is cut off at 10 s:
  // suspected past 2.5 s of silence, down past 5 s (until the heal at 30 s).
  await page.getByLabel('Scenario').selectOption('redis-sentinel-failover');
  await page.locator('[data-node="s1"]').click();
  await page.getByRole('heading', { name: 's1' }).waitFor();
  await untilRow(page, '^liveness of c1 \\(primary\\)$', '^alive · silent \\d+ ms$');
  await untilRow(page, '^liveness of c3$', '^alive · silent \\d+ ms$');
  await page.getByRole('slider', { name: /^Speed/ }).fill('6');
  // Once it is down the sentinels fail over, and c1 is no longer their primary.
  await untilRow(page, '^liveness of c1( \\(primary\\))?$', '^down · silent \\d+ ms$');
});

appTest('a Kafka run shows partition leaders, the ISR and the writes acks=1 lost', async ({ page }) => {
  await gotoApp(page);
  await page.getByLabel('Scenario').selectOption('kafka-acks1-loss');
  // b1 leads the partition with every replica in sync (before it dies at
  // 10 s: the run goes at its slowest speed meanwhile).
  await page.getByRole('slider', { name: /^Speed/ }).fill('0');
  await page.locator('[data-node="b1"]').click();
  await untilTableRow(page, ['^orders-0$', '^0$', '^\\d+$', '^\\d+$', '^\\d+$', '^leader, ISR \\[b1, b2, b3\\]$']);
  const table = page.getByRole('region', { name: 'Replicas on this broker' });
  assert.deepEqual(await table.locator('thead th').allTextContents(), ['partition', 'epoch', 'LEO', 'HW', 'on disk', 'replica']);
  // The table passes axe in both themes (contrast, headers, a focusable scroller).
  for (const theme of ['Light', 'Dark']) {
    await page.getByLabel('Theme').selectOption({ label: theme });
    assert.deepEqual(await axe(page), [], theme);
  }
  await page.getByRole('slider', { name: /^Speed/ }).fill('9');
  // b1 dies at 10 s; after its session times out the active controller
  // fences it and b2 leads epoch 1; b1 returns at 20 s and truncates.
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) >= 25);
  await page.locator('[data-node="b2"]').click();
  await untilTableRow(page, ['^orders-0$', '^1$', '', '', '', '^leader, ISR ']);
  const verdict = page.locator('.verdicts [role=status]');
  await until(page, (el) => /^\d+ acknowledged writes lost \(the first acknowledged at 9\.9\d+ s\)$/.test(el.textContent), await verdict.elementHandle());
  // At the end the checker reads the partition whole once more (final polls).
  await page.getByText(/The scenario's \d+s are over/).waitFor();
  const verdicts = page.locator('.verdicts');
  const row = (term) => verdicts.locator('div', { has: page.locator('dt', { hasText: term }) }).locator('dd');
  await until(page, (el) => el.textContent.startsWith('1 of 1 partitions read whole after the run'), await row('final polls').elementHandle());
  assert.match(await verdict.textContent(), /^\d+ acknowledged writes lost/);
  // The controllers' view: who is active, and what it thinks of each broker.
  for (const c of ['ctl1', 'ctl2', 'ctl3']) {
    await page.locator(`[data-node="${c}"]`).click();
    const active = await page.locator('.inspector .details div', { hasText: 'active controller' }).locator('dd').textContent();
    if (active === 'yes') {
      await untilRow(page, '^broker b1$', '^alive · last heartbeat \\d+ ms ago$');
      // Its metadata: b2 leads the partition in epoch 1.
      await untilTableRow(page, ['^orders-0$', '^1$', '^b2$', '^b']);
      return;
    }
  }
  assert.fail('no controller says it is active');
});
