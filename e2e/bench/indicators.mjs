// Benchmark: the monitoring dashboard's computation over 500 school
// roadmaps in headless chromium, in the real app's wasm. Run through
// `cargo xtask bench indicators`, which generates the data (and times the
// same code natively), builds the app and the server, and prints the table.
//
// The page is the app as served by a release medk-server; the data file is
// handed to it by Playwright (no service worker, so the request reaches the
// route). The app's wasm exports one function for this,
// `medkBenchIndicators` (app/src/ui/dashboard/bench.rs): it loads every
// document from its bytes, computes the roll-up, keeps what it read in the
// app's IndexedDB and computes again from that alone (reopening), then
// recomputes after one change, timing each inside the page. For each of MEDK_BENCH_DATES (`key=YYYY-MM-DD,...`): one warm-up,
// then MEDK_BENCH_RUNS runs; all timings go to MEDK_BENCH_RESULT as JSON,
// by key.
import { readFileSync, writeFileSync } from 'node:fs';
import { env as required, launchChromium, startServer } from './common.mjs';

const env = (name) => required(name, 'cargo xtask bench indicators');
const bin = env('MEDK_SERVER_BIN');
const staticDir = env('MEDK_STATIC_DIR');
const data = readFileSync(env('MEDK_BENCH_DATA'));
const resultPath = env('MEDK_BENCH_RESULT');
const runs = Number(process.env.MEDK_BENCH_RUNS ?? 5);
const dates = (process.env.MEDK_BENCH_DATES ?? 'default=').split(',').map((pair) => pair.split('='));

const server = await startServer(bin, staticDir);
const url = server.url;
try {
  const browser = await launchChromium();
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
        for (let i = 0; i <= runs; i++) out.push(JSON.parse(await module.medkBenchIndicators(bytes, date)));
        return { warmup: out[0], runs: out.slice(1) };
      },
      { runs, date },
    );
    result[key] = {
      load_ms: timings.runs.map((r) => r.load_ms),
      compute_ms: timings.runs.map((r) => r.compute_ms),
      recompute_ms: timings.runs.map((r) => r.recompute_ms),
      reopen_ms: timings.runs.map((r) => r.reopen_ms),
      fingerprint: timings.runs[0].fingerprint,
      warmup: timings.warmup,
    };
    const line = (r) =>
      `load ${r.load_ms.toFixed(0)} ms, compute ${r.compute_ms.toFixed(0)} ms, reopen ${r.reopen_ms.toFixed(0)} ms, recompute ${r.recompute_ms.toFixed(0)} ms (${r.recompute_read} read again)`;
    console.log(`${date || 'the data\'s date'}: warm-up ${line(timings.warmup)}; ${timings.runs.map(line).join('; ')}`);
  }
  await browser.close();
  writeFileSync(resultPath, JSON.stringify(result, null, 2));
} finally {
  server.cleanup();
}
