// The Wasm build computes the very same runs as the native engine: for
// every example scenario, the trace hash and the event count in the browser
// equal those of the native `clusterlab run`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

// Held links keep messages aside and deliver them at the release: the
// same in the browser (raft-kv-five with kv4 held off from the other
// members from 10 s to 14 s: it campaigns, then takes the held messages).
appTest('a run with held links has the same trace hash in the browser', { timeout: 120_000 }, async ({ page }) => {
  await gotoApp(page);
  await page.waitForFunction(() => window.wasmBindings?.run_headless);
  const scenario = JSON.parse(fs.readFileSync(path.join(scenarios, 'raft-kv-five.json'), 'utf8'));
  const others = ['kv1', 'kv2', 'kv3', 'kv5'];
  scenario.faults = [
    ...others.map((m) => ({ at: '10s', action: 'hold_link', between: ['kv4', m] })),
    ...others.map((m) => ({ at: '14s', action: 'release_link', between: ['kv4', m] })),
  ];
  const json = JSON.stringify(scenario);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clusterlab-')), 'held.json');
  fs.writeFileSync(file, json);
  const native = JSON.parse(execFileSync(cli, ['run', file, '--until', '15s'], { encoding: 'utf8', maxBuffer: 1 << 26 }));
  const wasm = JSON.parse(await page.evaluate(([j, u]) => window.wasmBindings.run_headless(j, u), [json, '15s']));
  assert.equal(wasm.events, native.events);
  assert.equal(wasm.trace_hash, native.trace_hash);
  // The holds did something: the run differs from the one without them.
  const plain = JSON.parse(execFileSync(cli, ['run', path.join(scenarios, 'raft-kv-five.json'), '--until', '15s'], { encoding: 'utf8', maxBuffer: 1 << 26 }));
  assert.notEqual(plain.trace_hash, native.trace_hash);
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
