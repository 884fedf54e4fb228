// axe-core finds no WCAG 2 A/AA violations, in the light and dark themes,
// and the page is usable from the keyboard alone.
import assert from 'node:assert/strict';
import { appTest, axe, gotoApp, tabTo } from './harness.mjs';

for (const colorScheme of ['light', 'dark']) {
  appTest(`no axe violations in the ${colorScheme} theme`, { contextOptions: { colorScheme } }, async ({ page }) => {
    await gotoApp(page);
    await page.locator('[data-node="web1"]').waitFor();
    await page.locator('[data-node="web1"]').click();
    await page.getByRole('button', { name: 'Crash web1' }).waitFor();
    // Paused, so live labels and texts do not change while axe reads them.
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
    assert.deepEqual(await axe(page), []);
  });
}

for (const colorScheme of ['light', 'dark']) {
  appTest(`the editor's states pass axe in the ${colorScheme} theme: a refused value, a draft`, { contextOptions: { colorScheme } }, async ({ page }) => {
    await gotoApp(page);
    await page.locator('[data-node="lb"]').waitFor();
    // A draft: a client without a target stops the run (nothing moves).
    await page.locator('section.build').getByRole('button', { name: 'Clients (load generator)', exact: true }).click();
    await page.locator('.draft-banner').waitFor();
    await page.locator('[data-node="lb"]').click();
    // A value refused inline, next to its field.
    const rise = page.locator('.config-form').getByRole('group', { name: 'default_server', exact: true }).getByLabel('rise', { exact: true });
    await rise.fill('zero');
    await rise.press('Enter');
    await page.locator('[data-path="default_server.rise"] .field-error:not(:empty)').waitFor();
    // A refused connection.
    await page.locator('#connect-to').selectOption('web2');
    await page.locator('section.build').getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('#connect-error:not(:empty)').waitFor();
    assert.deepEqual(await axe(page), []);
  });
}

appTest('every control is reachable with Tab and shows its focus', async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="web1"]').waitFor();
  const seen = new Set();
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      if (el === document.body) return null;
      const style = getComputedStyle(el);
      // SVG controls show focus with a thick stroke (see style.css).
      const svgFocus = el.matches('svg *') && (parseFloat(getComputedStyle(el.querySelector('rect') ?? el).strokeWidth) >= 4 || getComputedStyle(el).stroke !== 'none');
      return {
        label: el.getAttribute('aria-label') || el.textContent.trim().slice(0, 40),
        visible: style.outlineStyle !== 'none' || svgFocus,
      };
    });
    if (!info) break; // wrapped around past the last control
    assert.ok(info.visible, `no visible focus on ${info.label}`);
    seen.add(info.label);
  }
  for (const want of ['Pause', 'Step', 'Restart', 'Cut the link between lb and web1']) {
    assert.ok([...seen].some((l) => l.startsWith(want)), `never reached ${want}: ${[...seen].join(' | ')}`);
  }
  assert.ok([...seen].some((l) => l.startsWith('web2 ')), 'nodes are reachable');
});

const until = (page, fn, arg, timeout = 30_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });

appTest('a theme picked in the lab overrides the system one, passes axe, and is kept', { contextOptions: { colorScheme: 'light' } }, async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="web1"]').waitFor();
  const lightBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.getByLabel('Theme').selectOption('dark');
  await until(page, (bg) => getComputedStyle(document.body).backgroundColor !== bg, lightBg);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  assert.deepEqual(await axe(page), []);
  await page.reload();
  await page.locator('[data-node="web1"]').waitFor();
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), lightBg);
  assert.equal(await page.getByLabel('Theme').inputValue(), 'dark');
});


appTest('the main flow with the keyboard alone', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="web1"]').waitFor();
  // The help overlay lists the shortcuts; Escape closes it.
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  assert.ok((await help.locator('tbody tr').count()) >= 10);
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'hidden' });
  // Pause, then one event at a time.
  await page.keyboard.press('k');
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
  const before = Number(await page.getByTestId('events').textContent());
  await page.keyboard.press('.');
  await until(page, (n) => Number(document.querySelector('[data-testid=events]').textContent) === n + 1, before);
  // Faster, and play.
  for (let i = 0; i < 3; i++) await page.keyboard.press(']');
  await page.locator('.speed output', { hasText: '10x' }).waitFor();
  await page.keyboard.press('k');
  await until(page, () => Number(document.querySelector('[data-testid=sim-time]').dataset.seconds) >= 8);
  // Select web2 with Tab and Enter; crash it with C.
  await tabTo(page, (el) => el.dataset?.node === 'web2');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'web2' }).waitFor();
  await page.keyboard.press('c');
  await page.locator('.events li', { hasText: 'fault: crash web2' }).waitFor();
  // Partition web1 from the rest: tick it with Space, press the button.
  await tabTo(page, (el) => el.dataset?.side === 'web1');
  await page.keyboard.press(' ');
  await tabTo(page, (el) => el.textContent === 'Partition ticked | rest');
  await page.keyboard.press('Enter');
  await page.locator('.events li', { hasText: 'fault: partition {web1}' }).waitFor();
  // Pause and seek back 5 s with J: the crash is still on the timeline.
  await page.keyboard.press('Escape');
  await page.keyboard.press('k');
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
  const at = Number(await page.getByTestId('sim-time').getAttribute('data-seconds'));
  await page.keyboard.press('j');
  await until(page, (t) => document.querySelector('[data-testid=seeking]').textContent === '' && Math.abs(Number(document.querySelector('[data-testid=sim-time]').dataset.seconds) - (t - 5)) < 0.001, at);
  assert.equal(await page.locator('.fault-list li').count(), 2);
});
