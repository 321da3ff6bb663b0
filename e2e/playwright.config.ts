// Browser tests run through `cargo xtask test`, which builds the app and the
// server and passes MEDK_SERVER_BIN / MEDK_STATIC_DIR. Each test starts its
// own server (see support/server.ts).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'tests',
  // The machines have 2 cores: one browser at a time keeps timings honest.
  workers: 1,
  timeout: 60_000,
  retries: 0,
  reporter: 'list',
  use: {
    launchOptions: {
      // Debian's chromium; we never download Playwright's browsers.
      executablePath: '/usr/bin/chromium',
      args: [
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
});
