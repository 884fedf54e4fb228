// Shared browser-test harness: node:test + playwright-core + Debian's chromium.
//
//   import { appTest, gotoApp } from './harness.mjs';
//   appTest('does a thing', async ({ page, baseURL, problems }) => {
//     await gotoApp(page);
//     await page.getByRole('button', { name: 'Run' }).click();
//     await page.getByText('done').waitFor();   // wait on conditions, never sleep
//   });
//
// Every appTest gets a fresh browser context and page, and FAILS if, during
// the test, the page logged a console error, threw an uncaught error,
// requested any host other than the server under test (such requests are
// also aborted), or got an HTTP error status from that server. Expected
// ones can be allowed per test: appTest(name, { allow: { console: [/re/] } }, fn).
//
// Server under test: $BASE_URL (scripts/test.sh sets it). Without it, the
// harness serves ../dist itself on a free 127.0.0.1 port, so after a
// `trunk build --release`, `cd tests && npm test` also works.
import { test, after } from 'node:test';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../serve-dist.mjs';

import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.mjs';
export { CHROMIUM_ARGS, CHROMIUM_PATH };
export const DEFAULT_TEST_TIMEOUT_MS = 60_000;

let browserPromise;
let serverPromise;

/** One Chromium per test file (process), closed after the file's tests. */
export function getBrowser() {
  browserPromise ??= chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  return browserPromise;
}

/** Base URL of the app under test, always ending in '/'. */
export async function getBaseURL() {
  if (process.env.BASE_URL) return new URL(process.env.BASE_URL).href.replace(/\/?$/, '/');
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    throw new Error(`no ${root}/index.html: run \`trunk build --release\` first, or set BASE_URL`);
  }
  serverPromise ??= startServer({ root });
  return (await serverPromise).url;
}

after(async () => {
  if (browserPromise) await (await browserPromise).close();
  if (serverPromise) {
    const { server } = await serverPromise;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

/**
 * Record problems in every page of `context`; abort foreign requests.
 * Returns { consoleErrors, pageErrors, foreignRequests, httpErrors, list() }.
 */
export async function watchContext(context, baseURL, allow = {}) {
  const origin = new URL(baseURL).origin;
  const allowed = (kind, text) => (allow[kind] ?? []).some((re) => re.test(text));
  const problems = {
    consoleErrors: [],
    pageErrors: [],
    foreignRequests: [],
    httpErrors: [],
    /** All recorded problems as readable lines. */
    list() {
      return [
        ...this.consoleErrors.map((m) => `console error: ${m}`),
        ...this.pageErrors.map((m) => `uncaught page error: ${m}`),
        ...this.foreignRequests.map((m) => `request to a foreign host: ${m}`),
        ...this.httpErrors.map((m) => `HTTP error: ${m}`),
      ];
    },
  };

  const isLocal = (url) => /^(data|blob):/.test(url) || new URL(url).origin === origin;
  // Record every request (the 'request' event also sees what the router does
  // not, e.g. websockets) and abort the foreign ones so nothing leaves the box.
  context.on('request', (req) => {
    const url = req.url();
    if (!isLocal(url) && !allowed('foreign', url)) problems.foreignRequests.push(url);
  });
  await context.route('**/*', (route) =>
    isLocal(route.request().url()) ? route.continue() : route.abort('blockedbyclient'),
  );
  context.on('response', (res) => {
    const text = `${res.status()} ${res.url()}`;
    if (res.status() >= 400 && !allowed('http', text)) problems.httpErrors.push(text);
  });

  const watchPage = (page) => {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const loc = msg.location();
      const text = `${msg.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`;
      if (!allowed('console', text)) problems.consoleErrors.push(text);
    });
    page.on('pageerror', (err) => {
      const text = err.stack || String(err);
      if (!allowed('pageerror', text)) problems.pageErrors.push(text);
    });
    page.on('crash', () => problems.pageErrors.push('page crashed'));
  };
  context.on('page', watchPage);
  return problems;
}

/**
 * A node:test test with a fresh context + page on the app under test.
 * appTest(name, fn) or appTest(name, { timeout, allow, contextOptions, skip, only }, fn)
 * fn receives { page, context, baseURL, problems, t }.
 */
export function appTest(name, options, fn) {
  if (typeof options === 'function') [fn, options] = [options, {}];
  const { allow = {}, contextOptions = {}, timeout = DEFAULT_TEST_TIMEOUT_MS, ...testOptions } = options;
  return test(name, { timeout, ...testOptions }, async (t) => {
    const [browser, baseURL] = await Promise.all([getBrowser(), getBaseURL()]);
    const context = await browser.newContext({ baseURL, ...contextOptions });
    try {
      const problems = await watchContext(context, baseURL, allow);
      const page = await context.newPage();
      let bodyError;
      try {
        await fn({ page, context, baseURL, problems, t });
      } catch (err) {
        bodyError = err;
      }
      const found = problems.list();
      if (bodyError) {
        if (found.length) bodyError.message += `\nAlso seen in the page:\n  ${found.join('\n  ')}`;
        throw bodyError;
      }
      if (found.length) throw new Error(`page problems:\n  ${found.join('\n  ')}`);
    } finally {
      await context.close();
    }
  });
}

/** Opens `urlPath` (relative to the base URL) and waits until the app has started. */
export async function gotoApp(page, urlPath = './') {
  const res = await page.goto(urlPath, { waitUntil: 'load' });
  if (!res || !res.ok()) throw new Error(`GET ${urlPath} -> ${res ? res.status() : 'no response'}`);
  // `load` can come before the wasm has started and drawn the lab: wait for
  // the run controls (or the visible error of a failed start).
  await page.waitForFunction(() => document.querySelector('[data-testid=events]') || !document.getElementById('fatal')?.hidden, null, {
    polling: 100,
    timeout: 30_000,
  });
  return res;
}

/**
 * Presses Tab until `test(el, arg)` (run in the page on the focused
 * element) holds; fails after `limit` presses.
 */
export async function tabTo(page, test, arg, limit = 300) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(([t, a]) => new Function('el', 'arg', `return (${t})(el, arg)`)(document.activeElement, a), [test.toString(), arg])) return;
  }
  throw new Error(`Tab never reached ${test}`);
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2 A/AA violations on the page, one readable line each. */
export async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
  });
}
