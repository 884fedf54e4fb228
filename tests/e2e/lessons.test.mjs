// Lessons as a learner meets them: the catalog, a step read, its
// configuration changed, the run, the goals turning green, the prediction
// revealed, and the progress still there after a reload. Lesson links open
// their step; a bad one is refused with the work left as it was.
import assert from 'node:assert/strict';
import { appTest, axe, gotoApp } from './harness.mjs';

const until = (page, fn, arg, timeout = 60_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
const exact = (name) => ({ name, exact: true });
const goalsMet = (page) => page.locator('[data-testid=goal]').evaluateAll((gs) => gs.map((g) => g.dataset.met === 'true'));

appTest('a learner completes a lesson, step by step, and finds the progress kept after reloads', { timeout: 240_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.locator('[data-node="web1"]').waitFor();
  await page.getByRole('button', exact('Lessons')).click();
  const column = page.getByTestId('lesson');
  await column.getByRole('heading', exact('Lessons')).waitFor();
  assert.equal(await column.locator('.catalog > li').count(), 10);
  assert.equal(await page.getByTestId('progress-client-and-server').textContent(), '0 of 3 steps done');

  // Read: the first step, its text and goals, none met yet.
  await column.getByRole('button', { name: /^Start: Client and server/ }).click();
  await column.getByRole('heading', exact('Step 1 of 3: Load the servers')).waitFor();
  await column.getByText('Open-loop clients send requests at a fixed rate').waitFor();
  assert.equal(await page.locator('[data-testid=goal]').count(), 2);
  await until(page, () => document.querySelector('[data-testid=goal] .goal-detail')?.textContent !== '');
  assert.equal((await goalsMet(page))[0], false);

  // Predict before running.
  const predict = page.getByTestId('predict');
  await predict.getByLabel(/^Higher, by about a quarter/).check();
  await predict.getByRole('button', exact('Commit my prediction')).click();
  await predict.getByText(/You predicted: Higher, by about a quarter/).waitFor();

  // A hint on request.
  await column.getByRole('button', { name: /^Show a hint/ }).click();
  await column.locator('.hint-list li', { hasText: /Select the clients node on the canvas/ }).waitFor();

  // Change the configuration as the step says: clients' workload rate.
  await page.locator('[data-node="clients"]').click();
  const rate = page.locator('.config-form').getByRole('group', exact('workload')).getByLabel('rate', { exact: true });
  await rate.fill('1000');
  await rate.press('Enter');
  await page.locator('.undo-redo button', { hasText: 'Undo set clients workload.rate = 1000' }).waitFor();

  // Run fast to the step's end (a step opens paused, to be read first):
  // the goals turn green, the step is done, and the prediction's answer
  // is revealed.
  await page.getByRole('slider', { name: /^Speed/ }).fill('8');
  await page.getByRole('button', exact('Play')).click();
  await until(page, () => [...document.querySelectorAll('[data-testid=goal]')].every((g) => g.dataset.met === 'true'));
  await page.getByTestId('step-status').getByText(/Step 1 done: every goal is met/).waitFor();
  await predict.getByText('You predicted it.').waitFor();
  assert.match(await predict.textContent(), /Most of this latency is the network/);
  await column.locator('.step-dot.done', { hasText: '1' }).waitFor();

  // Reload: the lesson is open where it was, the step still done.
  await page.reload();
  await column.getByRole('heading', exact('Step 1 of 3: Load the servers')).waitFor();
  await page.getByTestId('step-status').getByText('This step is done.').waitFor();
  await predict.getByText(/Higher, by about a quarter/).first().waitFor();
  await column.getByRole('button', exact('All lessons')).click();
  assert.equal(await page.getByTestId('progress-client-and-server').textContent(), '1 of 3 steps done');
  await column.getByRole('button', { name: /^Continue: Client and server/ }).click();

  // The rest of the lesson, step by step, as its text says.
  for (const [n, title, value] of [[2, 'The knee', '1150'], [3, 'Past the capacity', '1600']]) {
    await column.getByRole('button', exact('Next step')).click();
    await column.getByRole('heading', exact(`Step ${n} of 3: ${title}`)).waitFor();
    await page.locator('[data-node="clients"]').click();
    const field = page.locator('.config-form').getByRole('group', exact('workload')).getByLabel('rate', { exact: true });
    await field.fill(value);
    await field.press('Enter');
    await page.locator('.undo-redo button', { hasText: `Undo set clients workload.rate = ${value}` }).waitFor();
    await page.getByRole('button', exact('Play')).click();
    await page.getByTestId('step-status').getByText(new RegExp(`Step ${n} done: every goal is met`)).waitFor({ timeout: 60_000 });
  }
  await column.getByRole('button', { name: /^Next lesson: Load balancing/ }).waitFor();
  await page.reload();
  await column.getByRole('heading', exact('Step 3 of 3: Past the capacity')).waitFor();
  await column.getByRole('button', exact('All lessons')).click();
  assert.equal(await page.getByTestId('progress-client-and-server').textContent(), '3 of 3 steps done');
  await column.getByRole('button', { name: /^Review: Client and server/ }).waitFor();
});

appTest('the solution can be shown and made; next and previous move between steps', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.getByRole('button', exact('Lessons')).click();
  const column = page.getByTestId('lesson');
  await column.getByRole('button', { name: /^Start: Client and server/ }).click();
  await column.getByRole('button', exact('Next step')).click();
  await column.getByRole('heading', exact('Step 2 of 3: The knee')).waitFor();
  await column.getByRole('button', exact('Show the solution')).click();
  await column.locator('.solution li', { hasText: 'Set workload.rate of clients to 1150.' }).waitFor();
  await column.getByRole('button', exact('Make these changes in the lab')).click();
  await page.locator('.undo-redo button', { hasText: 'Undo make the lesson\'s solution' }).waitFor();
  await page.getByRole('slider', { name: /^Speed/ }).fill('8');
  await page.getByRole('button', exact('Play')).click();
  await until(page, () => [...document.querySelectorAll('[data-testid=goal]')].every((g) => g.dataset.met === 'true'));
  await column.getByRole('button', exact('Previous step')).click();
  await column.getByRole('heading', exact('Step 1 of 3: Load the servers')).waitFor();
});

appTest('a step opens at its top with the focus on its title, from the mouse or the keyboard', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.getByRole('button', exact('Lessons')).click();
  const column = page.getByTestId('lesson');
  // The fifth lesson's Start is below the fold: the catalog is scrolled.
  const start = column.getByRole('button', { name: /^Start: Caching with Redis/ });
  await start.scrollIntoViewIfNeeded();
  assert.ok(await column.evaluate((el) => el.scrollTop) > 0);
  await start.click();
  const title = page.getByTestId('step-title');
  await title.getByText('Step 1 of 4: Put the cache in front').waitFor();
  await until(page, () => document.activeElement?.dataset.testid === 'step-title');
  assert.equal(await column.evaluate((el) => el.scrollTop), 0);
  // Next step from the keyboard, at the bottom of the column.
  const next = column.getByRole('button', exact('Next step'));
  await next.focus();
  await page.keyboard.press('Enter');
  await title.getByText('Step 2 of 4: Writes and the stale fill race').waitFor();
  await until(page, () => document.activeElement?.textContent === 'Step 2 of 4: Writes and the stale fill race');
  assert.equal(await column.evaluate((el) => el.scrollTop), 0);
});

appTest('a lesson link opens its step; a bad one is refused and the work stays', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page, './#lesson/client-and-server/3');
  const column = page.getByTestId('lesson');
  await column.getByRole('heading', exact('Step 3 of 3: Past the capacity')).waitFor();
  await page.locator('[data-node="web1"]').waitFor();
  // The last step leads on to the next lesson.
  await column.getByRole('button', { name: /^Next lesson: Load balancing/ }).waitFor();
  const names = await page.locator('[data-node]').evaluateAll((ns) => ns.map((n) => n.dataset.node).sort());
  await page.evaluate(() => { location.hash = '#lesson/no-such-lesson/1'; });
  await page.locator('.notice', { hasText: 'This lesson link could not be opened: there is no lesson `no-such-lesson`' }).waitFor();
  await column.getByRole('heading', exact('Step 3 of 3: Past the capacity')).waitFor();
  assert.deepEqual(await page.locator('[data-node]').evaluateAll((ns) => ns.map((n) => n.dataset.node).sort()), names);
  await page.evaluate(() => { location.hash = '#lesson/client-and-server/9'; });
  await page.locator('.notice', { hasText: 'has 3 steps, not 9' }).waitFor();
});

for (const colorScheme of ['light', 'dark']) {
  appTest(`the lesson player passes axe in the ${colorScheme} theme`, { contextOptions: { colorScheme } }, async ({ page }) => {
    await gotoApp(page, './#lesson/client-and-server/1');
    await page.getByTestId('lesson').getByRole('heading', exact('Step 1 of 3: Load the servers')).waitFor();
    await page.getByRole('button', { name: /^Show a hint/ }).click();
    await page.getByRole('button', exact('Show the solution')).click();
    // A step opens paused, so nothing changes while axe reads the page.
    await page.getByRole('button', exact('Play')).waitFor();
    assert.deepEqual(await axe(page), []);
  });
}
