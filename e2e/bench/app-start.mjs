// Benchmark: time from navigation to an editable roadmap, warm and offline,
// in headless chromium. Run through `cargo xtask bench app`, which builds
// the app and the server and generates the roadmap files.
//
// "Warm": the app has been visited (service worker installed, shell
// cached, the roadmap in IndexedDB). "Offline": the server process is
// killed before the measured loads. "Editable": every activity row is in
// the page and the first description field can take input. The baseline,
// measured in the same run, is the same start with a 1-activity roadmap.
import { env as required, launchChromium, startServer } from './common.mjs';

const RUNS = Number(process.env.MEDK_BENCH_RUNS ?? 7);
const env = (name) => required(name, 'cargo xtask bench app');
const bin = env('MEDK_SERVER_BIN');
const staticDir = env('MEDK_STATIC_DIR');
const big = env('MEDK_BENCH_ROADMAP');
const small = env('MEDK_BENCH_ROADMAP_SMALL');
const expected = Number(env('MEDK_BENCH_ACTIVITIES'));

const server = await startServer(bin, staticDir);
const url = server.url;

const browser = await launchChromium();
const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
// Records, in the page, when the first activity can take input
// (window.__editable) and when every activity row is in the page
// (window.__allRows).
await context.addInitScript(() => {
  const want = Number(localStorage.getItem('medk-bench-rows') ?? 'Infinity');
  const check = () => {
    const first = document.querySelector('.row[data-activity] textarea.f-description');
    if (window.__editable === undefined && first && !first.disabled) window.__editable = performance.now();
    if (window.__allRows === undefined && document.querySelectorAll('.row[data-activity]').length >= want) {
      window.__allRows = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true });
});

const page = await context.newPage();
await page.goto(url);
await page.evaluate(() => navigator.serviceWorker.ready);

async function importRoadmap(file) {
  await page.goto(url);
  await page.locator('input[type=file]').setInputFiles(file);
  await page.waitForURL(/\/r\//);
  return new URL(page.url()).pathname;
}
const bigPath = await importRoadmap(big);
const smallPath = await importRoadmap(small);

await server.kill();

function stats(values) {
  values.sort((a, b) => a - b);
  return { median: values[Math.floor(values.length / 2)], min: values[0], max: values[values.length - 1] };
}

async function measure(path, count) {
  const editable = [];
  const all = [];
  const attached = [];
  await page.evaluate((n) => localStorage.setItem('medk-bench-rows', String(n)), count);
  for (let i = 0; i < RUNS; i++) {
    await page.goto('about:blank');
    await page.goto(url + path, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__allRows !== undefined, null, { timeout: 30_000 });
    await page.waitForFunction(() => performance.getEntriesByName('medk:attached').length > 0, null, { timeout: 30_000 });
    const t = await page.evaluate(() => [window.__editable, window.__allRows, performance.getEntriesByName('medk:attached')[0].startTime]);
    editable.push(t[0]);
    all.push(t[1]);
    attached.push(t[2]);
  }
  // Where the time of the last run went (marks set by the app).
  await page.waitForFunction(() => performance.getEntriesByName('medk:rendered').length > 0);
  const phases = await page.evaluate(() =>
    performance.getEntriesByType('mark').filter((m) => m.name.startsWith('medk:')).map((m) => `${m.name.slice(5)} ${m.startTime.toFixed(0)}`).join(', '),
  );
  console.log(`  ${count} activities, phases of the last run (ms since navigation): ${phases}`);
  return { editable: stats(editable), all: stats(all), attached: stats(attached) };
}

const smallT = await measure(smallPath, 1);
const bigT = await measure(bigPath, expected);
const rows = await page.locator('.row[data-activity]').count();
await browser.close();
server.cleanup();

const fmt = (t) => `median ${t.median.toFixed(0)} ms (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)}, ${RUNS} runs)`;
console.log(`warm offline start, 1 activity (baseline), editable: ${fmt(smallT.editable)}`);
console.log(`warm offline start, ${rows} activities, first screen editable: ${fmt(bigT.editable)}`);
console.log(`warm offline start, ${rows} activities, document loaded:      ${fmt(bigT.attached)}`);
console.log(`warm offline start, ${rows} activities, all rows in the page:  ${fmt(bigT.all)}`);
console.log(`ratio to baseline (editable): ${(bigT.editable.median / smallT.editable.median).toFixed(2)}×   target < 300 ms: ${bigT.editable.median < 300 ? 'met' : 'NOT met'}`);
if (rows !== expected) {
  console.error(`expected ${expected} rows, saw ${rows}`);
  process.exit(1);
}
