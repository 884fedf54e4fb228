// The editor in a real browser: building a topology from the palette,
// connection rules, the configuration form, moving, deleting, undo and
// redo, templates, and all of it from the keyboard.
import assert from 'node:assert/strict';
import { appTest, gotoApp, tabTo } from './harness.mjs';

const until = (page, fn, arg, timeout = 30_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
const exact = (name) => ({ name, exact: true });
const node = (page, name) => page.locator(`.topology [data-node="${name}"]`);
const nodeNames = (page) => page.locator('.topology [data-node]').evaluateAll((ns) => ns.map((n) => n.dataset.node));
/** The node's drawn centre, from its transform. */
const centre = (page, name) =>
  node(page, name).evaluate((n) => n.getAttribute('transform').match(/translate\(([-\d.]+),([-\d.]+)\)/).slice(1).map(Number));

async function open(page) {
  await gotoApp(page);
  await node(page, 'web1').waitFor();
}

/** Selects `name` on the canvas and waits for the Build panel to offer its edits. */
async function select(page, name) {
  await node(page, name).click();
  await page.locator('section.build').getByRole('button', exact(`Delete ${name}`)).waitFor();
}

async function connect(page, a, b) {
  await select(page, a);
  await page.locator('#connect-to').selectOption(b);
  await page.locator('section.build').getByRole('button', exact('Connect')).click();
}

/** The value of inspector row `label` of the selected node. */
const row = (page, label) => page.locator('.inspector .details div', { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');


appTest('a topology built from the palette runs and serves requests through both servers', { timeout: 120_000 }, async ({ page }) => {
  await open(page);
  const build = page.locator('section.build');
  // Clear the example (keep web1: the last node of a working scenario
  // cannot go).
  for (const name of ['clients', 'lb', 'web2', 'web3']) {
    await select(page, name);
    await build.getByRole('button', exact(`Delete ${name}`)).click();
    await node(page, name).waitFor({ state: 'detached' });
  }
  assert.deepEqual(await nodeNames(page), ['web1']);

  // A client alone cannot run: the canvas draws the draft and says why.
  await build.getByRole('button', exact('Clients (load generator)')).click();
  await node(page, 'client1').waitFor();
  const banner = page.locator('.draft-banner');
  await banner.waitFor();
  assert.match(await banner.textContent(), /the run is stopped until the scenario is complete\. `client1`.*\(to run, client1 needs: connect it to what it sends to: a load balancer/);
  assert.ok(await node(page, 'client1').evaluate((n) => n.classList.contains('draft')));
  assert.equal(await page.getByRole('button', { name: /^Crash / }).count(), 0, 'a draft has nothing to crash');
  // The new node is selected, and the palette describes each kind.
  await page.locator('section.build').getByRole('button', exact('Delete client1')).waitFor();
  assert.match(await build.getByRole('button', exact('Load balancer (HAProxy)')).getAttribute('title'), /HAProxy 2\.6/);

  await build.getByRole('button', exact('Load balancer (HAProxy)')).click();
  await node(page, 'lb1').waitFor();
  await build.getByRole('button', exact('App server')).click();
  await node(page, 'web2').waitFor();
  await build.getByRole('button', exact('App server')).click();
  await node(page, 'web3').waitFor();
  // New nodes do not overlap.
  const boxes = await page.locator('.topology [data-node] rect.full').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect().toJSON()));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      assert.ok(a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top, `nodes ${i} and ${j} overlap`);
    }
  }

  await connect(page, 'client1', 'lb1');
  await page.locator('[data-link="client1-lb1"]').waitFor();
  await connect(page, 'lb1', 'web2');
  await page.locator('[data-link="lb1-web2"]').waitFor();
  // Complete now: the banner goes and the run starts from zero.
  await banner.waitFor({ state: 'detached' });
  await connect(page, 'lb1', 'web3');
  await page.locator('[data-link="lb1-web3"]').waitFor();
  await page.locator('.edit-status', { hasText: 'Done: connect lb1 → web3. The run restarted from time zero.' }).waitFor();
  assert.ok(!(await node(page, 'web2').evaluate((n) => n.classList.contains('draft'))));

  await page.getByRole('slider', { name: /^Speed/ }).fill('5');
  await until(page, () => {
    const m = document.querySelector('.chart-now')?.textContent.match(/^ok ([\d.]+) req\/s$/);
    return m && Number(m[1]) > 0;
  });
  for (const server of ['web2', 'web3']) {
    await select(page, server);
    await until(page, (name) => {
      const row = [...document.querySelectorAll('.inspector .details div')].find((d) => d.querySelector('dt')?.textContent === 'served since start');
      return document.querySelector('#inspector-title')?.textContent === name && row && Number(row.querySelector('dd').textContent) > 0;
    }, server);
  }
});

appTest('a refused connection says why, next to the button, and changes nothing', async ({ page }) => {
  await open(page);
  await select(page, 'web1');
  const undo = page.locator('.undo-redo button').first();
  const before = await undo.textContent();
  await page.locator('#connect-to').selectOption('web2');
  await page.locator('section.build').getByRole('button', exact('Connect')).click();
  const error = page.locator('#connect-error');
  await error.waitFor();
  assert.equal(
    await error.textContent(),
    'cannot connect `web1` to `web2`: an app server calls a database and a cache, and load balancers and clients send to it; not with another App server',
  );
  assert.equal(await page.locator('#connect-to').getAttribute('aria-describedby'), 'connect-error');
  assert.equal(await page.locator('[data-link="web1-web2"], [data-link="web2-web1"]').count(), 0);
  assert.equal(await undo.textContent(), before);
  // A client sends to one target: connecting it to a Kafka broker is refused.
  await page.locator('section.build').getByRole('button', exact('Kafka broker')).click();
  await node(page, 'b1').waitFor();
  await connect(page, 'clients', 'b1');
  await page.locator('#connect-error', { hasText: 'a client sends to a load balancer, a server, a database, a cache or a Raft KV node; not with a Kafka broker' }).waitFor();
});

appTest('a configuration field is edited inline: a bad value is refused next to it, a good one applies', async ({ page }) => {
  await open(page);
  await select(page, 'lb');
  const form = page.locator('.config-form');
  await form.getByRole('heading', exact('Configuration')).waitFor();
  // Labelled with the real system's keys, grouped by object.
  const rise = form.getByRole('group', exact('default_server')).getByLabel('rise', { exact: true });
  assert.equal(await rise.inputValue(), '2');
  assert.equal(await form.getByRole('group', exact('default_server')).getByLabel('inter', { exact: true }).inputValue(), '1s');
  assert.match(await page.locator('.inspector pre').textContent(), /inter 1s\b/);

  await rise.fill('zero');
  await rise.press('Enter');
  const error = form.locator('[data-path="default_server.rise"] .field-error');
  await until(page, () => document.querySelector('[data-path="default_server.rise"] .field-error')?.textContent !== '');
  assert.match(await error.textContent(), /zero/);
  assert.equal(await rise.getAttribute('aria-invalid'), 'true');
  assert.equal(await rise.getAttribute('aria-describedby'), await error.getAttribute('id'));
  assert.equal(await rise.inputValue(), 'zero', 'the typed text stays');
  assert.match(await page.locator('.inspector pre').textContent(), /rise 2\b/);
  assert.equal(await page.locator('.undo-redo button').first().textContent(), 'Undo');

  await rise.fill('3');
  await rise.press('Enter');
  await page.locator('.undo-redo button', { hasText: 'Undo set lb default_server.rise = 3' }).waitFor();
  await until(page, () => /rise 3\b/.test(document.querySelector('.inspector pre')?.textContent ?? ''));
  assert.equal(await error.textContent(), '');
  assert.equal(await rise.getAttribute('aria-invalid'), null);
  assert.equal(await rise.inputValue(), '3');
  // The focus stays in the field after the form is redrawn.
  await until(page, () => document.activeElement?.id === 'cfg-default_server_rise');
  // The balance line, as HAProxy writes it.
  const balance = form.getByRole('group', exact('settings')).getByLabel('balance', { exact: true });
  await balance.fill('leastconn');
  await balance.press('Tab');
  await until(page, () => /balance leastconn/.test(document.querySelector('.inspector pre')?.textContent ?? ''));
});

appTest('nodes move by dragging and with the arrow keys; Enter still selects and cuts', async ({ page }) => {
  await open(page);
  const [x0, y0] = await centre(page, 'web1');
  const box = await node(page, 'web1').locator('rect.full').boundingBox();
  const svg = await page.locator('svg.topology').boundingBox();
  // The canvas keeps its 720 x 400 view box's aspect ratio.
  const scale = Math.min(svg.width / 720, svg.height / 400);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 5; i++) await page.mouse.move(box.x + box.width / 2 - 20 * i * scale, box.y + box.height / 2 + 8 * i * scale);
  await page.mouse.up();
  const undo = page.locator('.undo-redo button').first();
  await until(page, () => document.querySelector('.undo-redo button')?.textContent === 'Undo move web1');
  const [x1, y1] = await centre(page, 'web1');
  assert.ok(Math.abs(x1 - (x0 - 100)) < 2 && Math.abs(y1 - (y0 + 40)) < 2, `dragged to ${x1},${y1} from ${x0},${y0}`);
  // One drag, one undo step.
  await undo.click();
  await until(page, ([x, y]) => document.querySelector('.topology [data-node="web1"]').getAttribute('transform') === `translate(${x.toFixed(1)},${y.toFixed(1)})`, [x0, y0]);

  // Arrow keys: 10 units, 50 with Shift; the node keeps the focus.
  await node(page, 'web2').focus();
  const [a0, b0] = await centre(page, 'web2');
  await page.keyboard.press('ArrowRight');
  await until(page, (x) => document.querySelector('.topology [data-node="web2"]').getAttribute('transform').startsWith(`translate(${x.toFixed(1)},`), a0 + 10);
  await until(page, () => document.activeElement?.dataset?.node === 'web2');
  await page.keyboard.press('Shift+ArrowUp');
  await until(page, ([x, y]) => document.querySelector('.topology [data-node="web2"]').getAttribute('transform') === `translate(${x.toFixed(1)},${y.toFixed(1)})`, [a0 + 10, b0 - 50]);
  await until(page, () => document.activeElement?.dataset?.node === 'web2');
  assert.equal(await undo.textContent(), 'Undo move web2');
  // Enter on the node still selects it; Enter on a link still cuts it.
  await page.keyboard.press('Enter');
  await page.locator('#inspector-title', { hasText: 'web2' }).waitFor();
  await page.locator('[data-link="lb-web3"]').focus();
  await page.keyboard.press('Enter');
  await until(page, () => document.querySelector('[data-link="lb-web3"]').closest('.link').classList.contains('cut'));
});

appTest('deleting a node, and a deletion refused with the reason', async ({ page }) => {
  await open(page);
  await select(page, 'web3');
  await page.locator('section.build').getByRole('button', exact('Delete web3')).click();
  await node(page, 'web3').waitFor({ state: 'detached' });
  assert.equal(await page.locator('[data-link="lb-web3"]').count(), 0);
  await page.locator('#inspector-title', { hasText: 'Nothing selected' }).waitFor();
  await select(page, 'lb');
  await until(page, () => [...document.querySelectorAll('.inspector .details dt')].some((d) => d.textContent === 'server web2'));
  assert.equal(await row(page, 'server web3').count(), 0);
  await page.locator('section.build').getByRole('button', exact('Delete lb')).click();
  await page.locator('#delete-error', { hasText: '`clients` sends to `lb`: connect `clients` to another target first, or delete it' }).waitFor();
  assert.ok(await node(page, 'lb').isVisible());
});

appTest('undo and redo say what they do, and do it (buttons and keys)', async ({ page }) => {
  await open(page);
  const [undo, redo] = [page.locator('.undo-redo button').nth(0), page.locator('.undo-redo button').nth(1)];
  assert.equal(await undo.textContent(), 'Undo');
  assert.ok(await undo.isDisabled());
  await page.locator('section.build').getByRole('button', exact('App server')).click();
  await node(page, 'web4').waitFor();
  await connect(page, 'lb', 'web4');
  await page.locator('[data-link="lb-web4"]').waitFor();
  assert.equal(await undo.textContent(), 'Undo connect lb → web4');
  await undo.click();
  await page.locator('[data-link="lb-web4"]').waitFor({ state: 'detached' });
  assert.equal(await undo.textContent(), 'Undo add web4');
  assert.equal(await redo.textContent(), 'Redo connect lb → web4');
  await page.locator('.edit-status', { hasText: 'Undid connect lb → web4.' }).waitFor();
  await undo.click();
  await node(page, 'web4').waitFor({ state: 'detached' });
  assert.ok(await undo.isDisabled());
  await redo.click();
  await node(page, 'web4').waitFor();
  // The keys: Ctrl+Y and Ctrl+Shift+Z redo, Ctrl+Z undoes.
  await page.locator('body').click({ position: { x: 2, y: 2 } });
  await page.keyboard.press('Control+y');
  await page.locator('[data-link="lb-web4"]').waitFor();
  await page.keyboard.press('Control+z');
  await page.locator('[data-link="lb-web4"]').waitFor({ state: 'detached' });
  await page.keyboard.press('Control+Shift+Z');
  await page.locator('[data-link="lb-web4"]').waitFor();
  assert.equal(await redo.textContent(), 'Redo');
  // A fault added in the run is a step of its own: undo takes it back first.
  await select(page, 'web1');
  await page.getByRole('button', exact('Crash web1')).click();
  await page.locator('.fault-list li').first().waitFor();
  await until(page, () => document.querySelector('.undo-redo button')?.textContent === "Undo change the run's faults");
  await undo.click();
  await page.getByText('No faults yet.').waitFor();
  assert.equal(await undo.textContent(), 'Undo connect lb → web4');
});

appTest('starting from a template', async ({ page }) => {
  await open(page);
  const build = page.locator('section.build');
  await build.getByLabel('Start from a template').selectOption({ label: 'Kafka cluster with RF 3' });
  assert.match(await page.locator('#template-summary').textContent(), /3 KRaft controllers, 3 brokers/);
  await build.getByRole('button', exact('Start')).click();
  await node(page, 'ctl3').waitFor();
  assert.deepEqual((await nodeNames(page)).sort(), ['b1', 'b2', 'b3', 'consumer1', 'consumer2', 'ctl1', 'ctl2', 'ctl3', 'producer']);
  assert.equal(await build.locator('.undo-redo button').first().textContent(), 'Undo start from “Kafka cluster with RF 3”');
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]')?.dataset.seconds ?? 0) > 1);
  assert.match(await page.locator('.example select option:checked').textContent(), /Kafka cluster with RF 3/);
  // An enum is a choice among the values the engine accepts: the
  // producer's acks.
  await select(page, 'producer');
  const acks = page.locator('.config-form').getByRole('group', exact('settings')).getByLabel('acks', { exact: true });
  assert.equal(await acks.evaluate((e) => e.tagName), 'SELECT');
  assert.deepEqual((await acks.locator('option').allTextContents()).sort(), ['0', '1', 'all']);
  assert.equal(await acks.inputValue(), 'all');
  await acks.selectOption('1');
  await page.locator('.undo-redo button', { hasText: 'Undo set producer acks = 1' }).waitFor();
  assert.equal(await page.locator('.config-form').getByRole('group', exact('settings')).getByLabel('acks', { exact: true }).inputValue(), '1');
});

appTest('an edit from the keyboard alone: add, connect, undo, delete', { timeout: 120_000 }, async ({ page }) => {
  await open(page);
  await page.locator('body').click({ position: { x: 2, y: 2 } });
  await tabTo(page, (el) => el.dataset.kind === 'server');
  await page.keyboard.press('Enter');
  await node(page, 'web4').waitFor();
  await page.locator('section.build').getByRole('button', exact('Delete web4')).waitFor();
  // To the "Connect to" select: pick lb with the arrow keys.
  await tabTo(page, (el) => el.id === 'connect-to');
  for (let i = 0; i < 10 && (await page.locator('#connect-to').inputValue()) !== 'lb'; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await page.locator('#connect-to').inputValue(), 'lb');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Connect');
  await page.keyboard.press('Enter');
  await page.locator('[data-link="lb-web4"]').waitFor();
  // Ctrl+Z from a button (not a field) undoes.
  await page.keyboard.press('Control+z');
  await page.locator('[data-link="lb-web4"]').waitFor({ state: 'detached' });
  // Focus the node on the canvas, select it with Enter, Delete it.
  await tabTo(page, (el) => el.dataset.node === 'web4');
  await page.keyboard.press('Enter');
  await page.locator('#inspector-title', { hasText: 'web4' }).waitFor();
  await page.keyboard.press('Delete');
  await node(page, 'web4').waitFor({ state: 'detached' });
  assert.equal(await page.locator('.undo-redo button').first().textContent(), 'Undo delete web4');
  // Delete pressed in a field is the field's: web1 (which could be
  // deleted) stays.
  await select(page, 'web1');
  await page.locator('.config-form input[type=text]').first().focus();
  await page.keyboard.press('Delete');
  await page.keyboard.press('Control+z');
  assert.ok(await node(page, 'web1').isVisible());
  assert.equal(await page.locator('.undo-redo button').first().textContent(), 'Undo delete web4');
});
