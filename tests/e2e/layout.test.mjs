// The lab at 1280x720 and on a tablet (portrait and landscape, touch):
// nothing wider than the screen, the cluster and the controls usable.
import assert from 'node:assert/strict';
import { appTest, gotoApp } from './harness.mjs';

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
