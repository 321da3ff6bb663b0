// Benchmark: the monitoring dashboard's computation over 500 school
// roadmaps in headless chromium, in the real app's wasm. Run through
// `cargo xtask bench indicators`, which generates the data (and times the
// same code natively), builds the app and the server, and prints the table.
//
// The page is the app as served by a release medk-server; the data file is
// handed to it by Playwright (no service worker, so the request reaches the
// route). The app's wasm exports one function for this,
// `medkBenchIndicators` (app/src/ui/dashboard/bench.rs): it loads every
// document from its bytes and computes the roll-up, timing both inside the
// page. For each of MEDK_BENCH_DATES (`key=YYYY-MM-DD,...`): one warm-up,
// then MEDK_BENCH_RUNS runs; all timings go to MEDK_BENCH_RESULT as JSON,
// by key.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from '@playwright/test';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run \`cargo xtask bench indicators\``);
  return v;
};
const bin = env('MEDK_SERVER_BIN');
const staticDir = env('MEDK_STATIC_DIR');
const data = readFileSync(env('MEDK_BENCH_DATA'));
const resultPath = env('MEDK_BENCH_RESULT');
const runs = Number(process.env.MEDK_BENCH_RUNS ?? 5);
const dates = (process.env.MEDK_BENCH_DATES ?? 'default=').split(',').map((pair) => pair.split('='));

const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const url = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'medk-bench-'));
const server = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--static-dir', staticDir], { stdio: 'ignore' });
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {}
    if (i > 300) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, serviceWorkers: 'block' });
  await context.route('**/bench-indicators.bin', (route) =>
    route.fulfill({ status: 200, contentType: 'application/octet-stream', body: data }),
  );
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`page: ${m.text()}`);
  });
  await page.goto(url);
  // The app has started (its module is initialized) once its shell is up.
  await page.locator('header.topbar').waitFor({ timeout: 30_000 });
  const result = { browser: await page.evaluate(() => navigator.userAgent) };
  console.log(`chromium: ${result.browser}`);
  for (const [key, date] of dates) {
    const timings = await page.evaluate(
      async ({ runs, date }) => {
        const module = await import(document.querySelector('link[rel=modulepreload]').href);
        if (typeof module.medkBenchIndicators !== 'function') throw new Error('the app wasm does not export medkBenchIndicators');
        const bytes = new Uint8Array(await (await fetch('/bench-indicators.bin')).arrayBuffer());
        const out = [];
        for (let i = 0; i <= runs; i++) out.push(JSON.parse(module.medkBenchIndicators(bytes, date)));
        return { warmup: out[0], runs: out.slice(1) };
      },
      { runs, date },
    );
    result[key] = {
      load_ms: timings.runs.map((r) => r.load_ms),
      compute_ms: timings.runs.map((r) => r.compute_ms),
      recompute_ms: timings.runs.map((r) => r.recompute_ms),
      fingerprint: timings.runs[0].fingerprint,
      warmup: timings.warmup,
    };
    const line = (r) =>
      `load ${r.load_ms.toFixed(0)} ms, compute ${r.compute_ms.toFixed(0)} ms, recompute ${r.recompute_ms.toFixed(0)} ms`;
    console.log(`${date || 'the data\'s date'}: warm-up ${line(timings.warmup)}; ${timings.runs.map(line).join('; ')}`);
  }
  await browser.close();
  writeFileSync(resultPath, JSON.stringify(result, null, 2));
} finally {
  server.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}
