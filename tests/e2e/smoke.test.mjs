// Placeholder smoke test: the page loads, fetches and runs the wasm, and the
// Leptos app renders and reacts to a click. Replace with real tests later.
import assert from 'node:assert/strict';
import { appTest, gotoApp } from './harness.mjs';

appTest('page loads the wasm and renders the app', async ({ page }) => {
  const wasm = page.waitForResponse((res) => res.url().endsWith('.wasm'));
  await gotoApp(page);

  const wasmRes = await wasm;
  assert.equal(wasmRes.status(), 200);
  assert.equal(wasmRes.headers()['content-type'], 'application/wasm');

  // Rendered by Rust, so its presence proves the wasm ran.
  const heading = page.getByRole('heading', { level: 1 });
  await heading.waitFor();
  assert.match(await heading.textContent(), /Cluster Lab/);
  assert.match(await page.title(), /Cluster Lab/);
});

appTest('the app reacts to input', async ({ page }) => {
  await gotoApp(page);
  const button = page.getByRole('button', { name: /clicked 0 times/i });
  await button.click();
  await page.getByRole('button', { name: /clicked 1 times?/i }).waitFor();
});
