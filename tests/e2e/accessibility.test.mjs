// axe-core finds no WCAG 2 A/AA violations, in the light and dark themes,
// and the page is usable from the keyboard alone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { appTest, gotoApp } from './harness.mjs';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
  });
}

for (const colorScheme of ['light', 'dark']) {
  appTest(`no axe violations in the ${colorScheme} theme`, { contextOptions: { colorScheme } }, async ({ page }) => {
    await gotoApp(page);
    await page.locator('[data-node="web1"]').waitFor();
    await page.locator('[data-node="web1"]').click();
    await page.getByRole('button', { name: 'Crash web1' }).waitFor();
    // Paused, so live labels and texts do not change while axe reads them.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Play' }).waitFor();
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
