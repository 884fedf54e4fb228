// The lab at 1280x720 and on a tablet (portrait and landscape, touch):
// nothing wider than the screen, the cluster and the controls usable.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { appTest, gotoApp } from './harness.mjs';

/** Controls that stick out of their panel sideways (a button cut off at a
 * panel's edge does not widen the page, so the page check misses it). */
function controlsOutOfPanels(page) {
  return page.evaluate(() => {
    const out = [];
    for (const panel of document.querySelectorAll('section, aside')) {
      const edge = panel.getBoundingClientRect();
      for (const el of panel.querySelectorAll('button, input, select, textarea, label')) {
        if (el.closest('section, aside') !== panel) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0) continue;
        if (r.right > edge.right + 0.5 || r.left < edge.left - 0.5) {
          out.push(`${panel.className || panel.tagName}: ${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40)}" ${Math.round(r.left)}..${Math.round(r.right)} outside ${Math.round(edge.left)}..${Math.round(edge.right)}`);
        }
      }
    }
    return out;
  });
}

const sizes = [
  ['a 1280x720 laptop', { viewport: { width: 1280, height: 720 } }],
  ['a tablet held upright', { viewport: { width: 820, height: 1180 }, hasTouch: true, isMobile: true }],
  ['a tablet held sideways', { viewport: { width: 1180, height: 820 }, hasTouch: true, isMobile: true }],
];

for (const [name, contextOptions] of sizes) {
  appTest(`usable on ${name}`, { contextOptions }, async ({ page }) => {
    await gotoApp(page);
    const node = page.locator('[data-node="web2"]');
    await node.waitFor();
    // Nothing sticks out sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    assert.deepEqual(await controlsOutOfPanels(page), []);
    // The whole cluster is on screen without scrolling, and big enough to hit.
    const box = await node.boundingBox();
    assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= contextOptions.viewport.width && box.y + box.height <= contextOptions.viewport.height, JSON.stringify(box));
    assert.ok(box.width >= 44 && box.height >= 24, `a node is only ${box.width}x${box.height} px`);
    // Select a node (a tap on touch screens), act on it, pause the run.
    if (contextOptions.hasTouch) await node.tap();
    else await node.click();
    await page.getByRole('heading', { name: 'web2' }).waitFor();
    const crash = page.getByRole('button', { name: 'Crash web2' });
    await crash.scrollIntoViewIfNeeded();
    if (contextOptions.hasTouch) await crash.tap();
    else await crash.click();
    await page.locator('.events li', { hasText: 'fault: crash web2' }).waitFor();
    const pause = page.getByRole('button', { name: 'Pause', exact: true });
    await pause.scrollIntoViewIfNeeded();
    await pause.click();
    await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
    // The faults panel and the timeline are reachable too.
    const timeline = page.locator('.fault-list li', { hasText: 'crash web2' });
    await timeline.scrollIntoViewIfNeeded();
    assert.ok(await timeline.isVisible());
  });
}

for (const [name, contextOptions] of sizes) {
  appTest(`a lesson beside the lab fits on ${name}`, { contextOptions }, async ({ page }) => {
    await gotoApp(page, './#lesson/load-balancing/1');
    const column = page.getByTestId('lesson');
    await column.getByRole('heading', { name: /^Step 1 of/ }).waitFor();
    const node = page.locator('[data-node="web2"]');
    await node.waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    assert.deepEqual(await controlsOutOfPanels(page), []);
    // The lesson text and the cluster are both there; a node is still big
    // enough to hit.
    assert.ok(await column.isVisible());
    await node.scrollIntoViewIfNeeded();
    const box = await node.boundingBox();
    assert.ok(box.width >= 44 && box.height >= 24, `a node is only ${box.width}x${box.height} px`);
    // The goals are reachable.
    const goals = page.getByTestId('goals');
    await goals.scrollIntoViewIfNeeded();
    assert.ok(await goals.isVisible());
  });
}

// Every step of every lesson at 1280x720: nothing in the lesson column
// is wider than the column (long `code` such as
// `max.in.flight.requests.per.connection` wraps instead of running out).
appTest('every lesson step fits its column on a 1280x720 laptop', { timeout: 180_000, contextOptions: { viewport: { width: 1280, height: 720 } } }, async ({ page }) => {
  const dir = new URL('../../lessons/', import.meta.url);
  const steps = [];
  for (const file of readdirSync(dir).filter((f) => /^\d\d-.*\.md$/.test(f)).sort()) {
    const text = readFileSync(new URL(file, dir), 'utf8');
    const id = text.match(/^id = "([^"]+)"/m)[1];
    // A step is a `## Title` section with a step block.
    let title = null;
    let n = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('## ')) title = line.slice(3).trim();
      if (line.trim() === '```step') steps.push({ at: `${id}/${++n}`, n, title });
    }
    for (const s of steps.filter((s) => s.at.startsWith(`${id}/`))) s.of = n;
  }
  assert.ok(steps.length >= 30, `only ${steps.length} steps found`);
  await gotoApp(page, `./#lesson/${steps[0].at}`);
  const column = page.getByTestId('lesson');
  for (const { at, n, of, title } of steps) {
    await page.evaluate((s) => { location.hash = `#lesson/${s}`; }, at);
    // The step's own heading, so the check runs on the step just opened.
    await column.getByRole('heading', { name: `Step ${n} of ${of}: ${title}`, exact: true }).waitFor();
    const wide = await column.evaluate((col) => {
      const edge = col.getBoundingClientRect().right;
      return [...col.querySelectorAll('*')]
        .filter((el) => el.getBoundingClientRect().right > edge + 0.5 && !el.closest('pre'))
        .map((el) => `${el.tagName.toLowerCase()}: ${el.textContent.slice(0, 60)}`);
    });
    assert.deepEqual(wide, [], `${at}: wider than the lesson column`);
  }
});
