// Benchmark: time from navigation to an editable roadmap, warm and offline,
// in headless chromium. Run through `cargo xtask bench app`, which builds
// the app and the server and generates the roadmap files.
//
// "Warm": the app has been visited (service worker installed, shell
// cached, the roadmap in IndexedDB). "Offline": the server process is
// killed before the measured loads. "Editable": every activity row is in
// the page and the first description field can take input. The baseline,
// measured in the same run, is the same start with a 1-activity roadmap.
//
// Then a roadmap built the way people build one: 20 activities and 5,000
// keystrokes typed into them on the device (MEDK_BENCH_KEYSTROKES), each a
// change the app stores and compacts as it goes. It prints the device's
// stored bytes (as the app keeps them, against every change stored alone
// and against one snapshot) and its warm offline start.
import * as A from '@automerge/automerge';
import { env as required, launchChromium, startServer } from './common.mjs';

const RUNS = Number(process.env.MEDK_BENCH_RUNS ?? 7);
const KEYSTROKES = Number(process.env.MEDK_BENCH_KEYSTROKES ?? 5000);
const TYPED_ACTIVITIES = 20;
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

/** The pieces the device stores for a document. */
async function pieces(id) {
  return page.evaluate(async (doc) => {
    const db = await new Promise((ok, fail) => {
      const req = indexedDB.open('medk');
      req.onsuccess = () => ok(req.result);
      req.onerror = () => fail(req.error);
    });
    const values = await new Promise((ok) => {
      const req = db.transaction('chunks').objectStore('chunks').index('by_doc').getAll(IDBKeyRange.only(doc));
      req.onsuccess = () => ok(req.result);
    });
    db.close();
    return values.map((v) => Array.from(v.bytes));
  }, id);
}

/** A roadmap typed on the device: activities, then keystrokes into them. */
async function typeRoadmap() {
  await page.goto(url);
  await page.getByRole('button', { name: 'Создать дорожную карту' }).click();
  const form = page.getByRole('form', { name: 'Новая дорожная карта' });
  await form.getByLabel('Название').fill('Набрано на устройстве');
  await form.getByRole('button', { name: 'Создать' }).click();
  await page.waitForURL(/\/r\//);
  const path = new URL(page.url()).pathname;
  await page.locator('.editor[data-loaded=true]').waitFor();
  const started = Date.now();
  const perActivity = Math.ceil(KEYSTROKES / TYPED_ACTIVITIES);
  const words = 'Проведение методического семинара для учителей начальных классов по результатам ВПР ';
  for (let i = 0; i < TYPED_ACTIVITIES; i++) {
    await page.locator('.section').first().getByRole('button', { name: '+ Мероприятие' }).click();
    const field = page.locator('.row[data-activity] textarea.f-description').nth(i);
    await field.waitFor();
    let text = '';
    while (text.length < perActivity) text += words;
    await page.keyboard.type(text.slice(0, perActivity));
  }
  // Every write committed: the journal is empty.
  await page.waitForFunction(() => !Object.keys(localStorage).some((k) => k.startsWith('medk-journal:')), null, { timeout: 60_000 });
  const typingSeconds = (Date.now() - started) / 1000;
  const id = path.split('/').pop();
  const beforeCompaction = await pieces(id);
  // The app compacts at a quiet moment once 64 pieces are held: wait for it.
  await page.waitForTimeout(2_000);
  const stored = await pieces(id);
  let doc = A.init();
  for (const bytes of stored) doc = A.loadIncremental(doc, new Uint8Array(bytes));
  const changes = A.getAllChanges(doc);
  return {
    path,
    typingSeconds,
    changes: changes.length,
    storedPieces: stored.length,
    beforePieces: beforeCompaction.length,
    beforeBytes: beforeCompaction.reduce((n, b) => n + b.length, 0),
    storedBytes: stored.reduce((n, b) => n + b.length, 0),
    separateBytes: changes.reduce((n, c) => n + c.length, 0),
    snapshotBytes: A.save(doc).length,
  };
}

const smallT = await measure(smallPath, 1);
const bigT = await measure(bigPath, expected);
const rows = await page.locator('.row[data-activity]').count();
const typed = await typeRoadmap();
const typedT = await measure(typed.path, TYPED_ACTIVITIES);
await browser.close();
server.cleanup();

const fmt = (t) => `median ${t.median.toFixed(0)} ms (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)}, ${RUNS} runs)`;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`warm offline start, 1 activity (baseline), editable: ${fmt(smallT.editable)}`);
console.log(`warm offline start, ${rows} activities, first screen editable (cached view, typing only): ${fmt(bigT.editable)}`);
console.log(`warm offline start, ${rows} activities, fully editable (document loaded):              ${fmt(bigT.attached)}`);
console.log(`warm offline start, ${rows} activities, all rows in the page:                           ${fmt(bigT.all)}`);
console.log(`ratio to baseline (first screen editable): ${(bigT.editable.median / smallT.editable.median).toFixed(2)}×   target < 300 ms: ${bigT.editable.median < 300 ? 'met' : 'NOT met'}`);
console.log(`typed on the device: ${typed.changes} changes (${KEYSTROKES} keystrokes into ${TYPED_ACTIVITIES} activities) in ${typed.typingSeconds.toFixed(1)} s`);
console.log(`  stored right after typing: ${kb(typed.beforeBytes)} in ${typed.beforePieces} pieces; after the app's compaction at a quiet moment: ${kb(typed.storedBytes)} in ${typed.storedPieces} pieces`);
console.log(`  every change stored alone (no compaction): ${kb(typed.separateBytes)}; one snapshot: ${kb(typed.snapshotBytes)}`);
console.log(`  compaction keeps ${(typed.storedBytes / typed.separateBytes * 100).toFixed(1)}% of the bytes of every change stored alone`);
console.log(`warm offline start, typed roadmap, first screen editable: ${fmt(typedT.editable)}`);
console.log(`warm offline start, typed roadmap, fully editable (document loaded): ${fmt(typedT.attached)}`);
console.log(`  ratio to baseline (fully editable): ${(typedT.attached.median / smallT.attached.median).toFixed(2)}×`);
if (rows !== expected) {
  console.error(`expected ${expected} rows, saw ${rows}`);
  process.exit(1);
}
