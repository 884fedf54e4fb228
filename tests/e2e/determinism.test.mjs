// The Wasm build computes the very same runs as the native engine: for
// every example scenario, the trace hash and the event count in the browser
// equal those of the native `clusterlab run`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appTest, gotoApp } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = process.env.CLUSTERLAB_BIN || path.join(root, 'target', 'release', 'clusterlab');
const scenarios = path.join(root, 'engine', 'scenarios');
const UNTIL = '5s';

appTest('trace hashes in the browser equal the native ones', { timeout: 300_000 }, async ({ page }) => {
  assert.ok(fs.existsSync(cli), `no ${cli}: build it with cargo build --release -p clusterlab-cli`);
  await gotoApp(page);
  await page.waitForFunction(() => window.wasmBindings?.run_headless);
  const files = fs.readdirSync(scenarios).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 5);
  for (const f of files) {
    const file = path.join(scenarios, f);
    const native = JSON.parse(execFileSync(cli, ['run', file, '--until', UNTIL], { encoding: 'utf8', maxBuffer: 1 << 26 }));
    const json = fs.readFileSync(file, 'utf8');
    const wasm = JSON.parse(await page.evaluate(([j, u]) => window.wasmBindings.run_headless(j, u), [json, UNTIL]));
    assert.equal(wasm.events, native.events, `${f}: event counts differ`);
    assert.equal(wasm.trace_hash, native.trace_hash, `${f}: trace hashes differ`);
    assert.ok(native.events > 1000, `${f}: only ${native.events} events`);
  }
});

appTest('a bad scenario is refused with the same message as natively', async ({ page }) => {
  await gotoApp(page);
  await page.waitForFunction(() => window.wasmBindings?.run_headless);
  const message = await page.evaluate(() => {
    try {
      window.wasmBindings.run_headless('{"version": 9, "nodes": []}', '1s');
      return 'accepted';
    } catch (e) {
      return e.message;
    }
  });
  assert.match(message, /^version: this scenario uses format version 9, newer than this Cluster Lab understands/);
});
