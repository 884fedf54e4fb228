// How Debian's Chromium is started for tests and benchmarks (see
// ../shared/TOOLCHAIN.md): no sandbox as root, and no calls to the closed network.
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// As root Chromium needs --no-sandbox; the rest stop it from calling out to
// the (closed) network and hanging. Playwright's launch() already gives each
// browser a fresh temporary --user-data-dir.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
