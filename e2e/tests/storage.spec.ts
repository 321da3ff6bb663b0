// The device's storage at the volume people work at: hundreds of changes on
// one device, a device that only receives, reloads, two tabs, copies damaged
// by a broken disk or by an older version of the app, and what the sync
// indicator says about all of it. What the device stored is read back with
// the JS Automerge (support/device.ts), not only through the app.
import type { Browser, Page } from '@playwright/test';
import { test, expect, signIn } from '../support/server';
import { activities, addActivity, createRoadmap, descriptions, editorLoaded, waitForOfflineReady } from '../support/app';
import { docId, journalEntries, listRecord, quarantined, spoilChunks, storedDocument, storedPieces } from '../support/device';

function title(page: Page) {
  return page.getByLabel('Название дорожной карты');
}

function syncStatus(page: Page) {
  return page.locator('.sync-status');
}

/** Waits until every write of the device has committed (the journal is empty). */
async function settled(page: Page) {
  await expect.poll(() => journalEntries(page), { timeout: 10_000 }).toEqual([]);
}

async function signedInDevice(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: url });
  await signIn(context, url);
  return context.newPage();
}

test('70 characters typed into a new roadmap\'s title, then a reload: it opens (the roadmap used to be lost)', async ({ page }) => {
  // The report: signed out, a new roadmap, 70 characters into its title, reload.
  const path = await createRoadmap(page, 'Карта');
  const typed = ' — школа № 3 Тверской области, рабочая группа и куратор, 2026 год.....';
  expect(typed.length).toBeGreaterThanOrEqual(70);
  await title(page).click();
  await title(page).press('End');
  await title(page).pressSequentially(typed);
  await page.reload();
  await expect(title(page)).toHaveValue(`Карта${typed}`);
  await editorLoaded(page);
  expect(await quarantined(page)).toEqual([]);
  await page.goto('/');
  await expect(page.locator('.roadmap-item', { hasText: 'Карта — школа' })).not.toHaveClass(/broken/);
  expect(new URL(page.url()).pathname).toBe('/');
  expect(path).toMatch(/^\/r\//);
});

test('a day of edits on one device: hundreds of changes, compacted, every one back after each reload', async ({ page }) => {
  const path = await createRoadmap(page, 'День работы');
  const id = docId(path);
  const expected: string[] = [];
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 5; i++) {
      const text = `Мероприятие ${round}.${i}`;
      const row = await addActivity(page, 0, text);
      // Typing, as people do: a change per keystroke.
      await row.locator('textarea.f-description').pressSequentially(' — проведено совещание с учителями');
      await row.getByLabel('Статус').selectOption(i % 2 ? 'done' : 'in-progress');
      expected.push(`${text} — проведено совещание с учителями`);
    }
    // A move and a delete now and then.
    await activities(page).nth(0).getByRole('button', { name: 'Переместить ниже' }).click();
    expected.splice(1, 0, expected.shift()!);
    await expect.poll(() => descriptions(page)).toEqual(expected);
    await page.reload();
    expect(await descriptions(page)).toEqual(expected);
  }
  await settled(page);
  // More than 700 changes were made; compaction (due at opening too, done
  // at a quiet moment) keeps the pieces few.
  await expect.poll(async () => (await storedPieces(page, id)).length, { timeout: 10_000 }).toBeLessThanOrEqual(64);
  const stored = await storedDocument(page, id);
  const texts = Object.values(stored.value.activities as Record<string, any>)
    .filter((a) => !a.deleted)
    .map((a) => a.description)
    .sort();
  expect(texts).toEqual([...expected].sort());
  expect(await quarantined(page)).toEqual([]);
});

test('two tabs of one browser type into one roadmap offline: both tabs\' work is there after reloading each', async ({ page, context }) => {
  const path = await createRoadmap(page, 'Две вкладки');
  await addActivity(page, 0, 'Первая вкладка:');
  await addActivity(page, 0, 'Вторая вкладка:');
  const other = await context.newPage();
  await other.goto(path);
  await editorLoaded(other);
  const mine = activities(page).nth(0).locator('textarea.f-description');
  const theirs = activities(other).nth(1).locator('textarea.f-description');
  for (let i = 0; i < 6; i++) {
    await mine.press('Control+End');
    await mine.pressSequentially(` a${i}`);
    await theirs.press('Control+End');
    await theirs.pressSequentially(` b${i}`);
  }
  // Each tab keeps its own memory; storage holds both.
  await page.reload();
  await other.reload();
  for (const tab of [page, other]) {
    const [first, second] = await descriptions(tab);
    expect(first).toBe('Первая вкладка: a0 a1 a2 a3 a4 a5');
    expect(second).toBe('Вторая вкладка: b0 b1 b2 b3 b4 b5');
  }
  expect(await quarantined(page)).toEqual([]);
});

/** The count of unsent changes the top bar shows (0 when it shows none). */
async function unsent(page: Page): Promise<number> {
  const text = (await syncStatus(page).textContent()) ?? '';
  return Number(text.match(/не отправлено: (\d+)/)?.[1] ?? 0);
}

/** The count both tabs show, once they show the same one above `above` (else -1). */
async function sameCount(tabs: Page[], above: number): Promise<number> {
  const counts = await Promise.all(tabs.map(unsent));
  return counts.every((n) => n === counts[0] && n > above) ? counts[0] : -1;
}

test('two tabs of one device offline see each other\'s typing at once and count both tabs\' changes as unsent; online, all of it is sent', async ({ browser, server }) => {
  // The issue-15 finding: each tab saw the other's work only after the
  // network came back, and one said nothing was pending while the other
  // had unsent changes.
  const page = await signedInDevice(browser, server.url);
  const context = page.context();
  const path = await createRoadmap(page, 'Две вкладки без сети');
  await addActivity(page, 0, 'Первая:');
  await addActivity(page, 0, 'Вторая:');
  await expect(syncStatus(page)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  await waitForOfflineReady(page);
  const other = await context.newPage();
  await other.goto(path);
  await editorLoaded(other);
  await expect(syncStatus(other)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });

  await context.setOffline(true);
  for (const tab of [page, other]) {
    await expect(syncStatus(tab)).toHaveAttribute('data-state', 'offline', { timeout: 15_000 });
  }
  const mine = activities(page).nth(0).locator('textarea.f-description');
  await mine.press('Control+End');
  await mine.pressSequentially(' раз');
  await expect.poll(() => descriptions(other), { timeout: 5_000 }).toEqual(['Первая: раз', 'Вторая:']);
  await expect.poll(() => sameCount([page, other], 0), { timeout: 5_000 }).toBeGreaterThan(0);
  const first = await sameCount([page, other], 0);

  const theirs = activities(other).nth(1).locator('textarea.f-description');
  await theirs.press('Control+End');
  await theirs.pressSequentially(' два');
  await expect.poll(() => descriptions(page), { timeout: 5_000 }).toEqual(['Первая: раз', 'Вторая: два']);
  await expect.poll(() => sameCount([page, other], first), { timeout: 5_000 }).toBeGreaterThan(first);
  const both = await sameCount([page, other], first);

  // A tab that does not have the roadmap open counts what another types
  // into it too (from its list record).
  await page.goto('/');
  await expect(page.locator('.roadmap-item', { hasText: 'Две вкладки без сети' })).toBeVisible();
  await expect.poll(() => unsent(page), { timeout: 5_000 }).toBe(both);
  await theirs.pressSequentially(' три');
  await expect.poll(() => sameCount([page, other], both), { timeout: 5_000 }).toBeGreaterThan(both);
  await settled(other);

  await context.setOffline(false);
  for (const tab of [page, other]) {
    await expect(syncStatus(tab)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
  }
  const fresh = await signedInDevice(browser, server.url);
  await fresh.goto(path);
  await expect.poll(() => descriptions(fresh), { timeout: 15_000 }).toEqual(['Первая: раз', 'Вторая: два три']);
  expect(await quarantined(other)).toEqual([]);
});

test('a device that only receives changes keeps all of them across an offline reload', async ({ browser, server }) => {
  const writer = await signedInDevice(browser, server.url);
  const path = await createRoadmap(writer, 'Получатель');
  const row = await addActivity(writer, 0, 'Начало');
  await expect(syncStatus(writer)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });

  // A coordinator who only reads along.
  const reader = await signedInDevice(browser, server.url);
  await reader.goto(path);
  await editorLoaded(reader);
  await waitForOfflineReady(reader);
  const typed = ' и ещё сто сорок символов, набранных по одному: каждый символ — отдельное изменение, доходит до другого устройства';
  await row.locator('textarea.f-description').press('Control+End');
  await row.locator('textarea.f-description').pressSequentially(typed);
  for (let i = 0; i < 4; i++) await addActivity(writer, 0, `Принято ${i}`);
  const all = ['Начало' + typed, 'Принято 0', 'Принято 1', 'Принято 2', 'Принято 3'];
  await expect.poll(() => descriptions(reader), { timeout: 15_000 }).toEqual(all);

  await server.kill('SIGKILL');
  await reader.reload();
  expect(await descriptions(reader)).toEqual(all);
  expect(await quarantined(reader)).toEqual([]);
});

test('a copy quarantined by the old loader opens again, and its unsent changes reach the server', async ({ browser, server }) => {
  const device = await signedInDevice(browser, server.url);
  const path = await createRoadmap(device, 'Пострадавшая карта');
  const id = docId(path);
  await addActivity(device, 0, 'Было на сервере');
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  await waitForOfflineReady(device);

  // Offline, more work, then the old version's failure: a lone change stored
  // under a lower key than what holds the rest; it moved every chunk to
  // quarantine and marked the roadmap broken.
  await server.kill('SIGKILL');
  await addActivity(device, 0, 'Сделано без сети');
  await settled(device);
  await device.goto('/icon.svg');
  await device.evaluate(async (id) => {
    const db: IDBDatabase = await new Promise((ok) => (indexedDB.open('medk').onsuccess = (e: any) => ok(e.target.result)));
    const req = <T>(r: IDBRequest<T>) => new Promise<T>((ok) => (r.onsuccess = () => ok(r.result)));
    const tx = db.transaction(['chunks', 'quarantine', 'roadmaps'], 'readwrite');
    const chunks = tx.objectStore('chunks');
    const keys = await req(chunks.index('by_doc').getAllKeys(IDBKeyRange.only(id)));
    const values: any[] = await req(chunks.index('by_doc').getAll(IDBKeyRange.only(id)));
    const changes = values.filter((v) => v.kind === 'changes').map((v) => v.bytes);
    const snapshots = values.filter((v) => v.kind !== 'changes').map((v) => v.bytes);
    const reason = "change's deps should already be in the document";
    tx.objectStore('quarantine').add({ doc: id, reason, at: Date.now(), chunks: [changes[changes.length - 1], ...snapshots, ...changes] });
    for (const key of keys) chunks.delete(key);
    const meta: any = await req(tx.objectStore('roadmaps').get(id));
    meta.broken = reason;
    tx.objectStore('roadmaps').put(meta);
    await new Promise((ok) => (tx.oncomplete = ok));
    db.close();
  }, id);

  await device.goto('/');
  await expect(device.locator('.roadmap-item', { hasText: 'Пострадавшая карта' })).not.toHaveClass(/broken/, { timeout: 10_000 });
  await device.goto(path);
  expect(await descriptions(device)).toEqual(['Было на сервере', 'Сделано без сети']);
  expect(await quarantined(device, id)).toEqual([]);

  await server.restart();
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
  const other = await signedInDevice(browser, server.url);
  await other.goto(path);
  expect(await descriptions(other)).toEqual(['Было на сервере', 'Сделано без сети']);
});

test('an unreadable copy is replaced by the server\'s, with every change still readable from it; deleting a broken one lets the link fetch it afresh', async ({ browser, server }) => {
  const device = await signedInDevice(browser, server.url);
  const path = await createRoadmap(device, 'Испорченный диск');
  const id = docId(path);
  await addActivity(device, 0, 'С сервера');
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  await waitForOfflineReady(device);
  await server.kill('SIGKILL');
  await addActivity(device, 0, 'Только на устройстве');
  await settled(device);
  // A broken disk: every snapshot becomes garbage; the later changes stay.
  await device.goto('/icon.svg');
  const snapshots = (await storedPieces(device, id)).filter((p) => p.kind === 'snapshot');
  await spoilChunks(device, snapshots.map((p) => p.key));

  // Offline it cannot be read: the editor and the list say so, with the
  // way back; the indicator does not claim everything is saved.
  await device.goto(path);
  const alert = device.getByRole('alert').filter({ hasText: 'Не удалось открыть' });
  await expect(alert).toContainText('повреждена');
  await expect(alert).not.toContainText('deps');
  await expect(syncStatus(device)).toContainText(/не читаются на устройстве: 1/i);
  await device.getByRole('button', { name: 'Загрузить с сервера заново' }).click();
  await expect(device.locator('.notice.error')).toContainText('нет связи');

  // Online: the server's copy comes back by itself, with the change made
  // here, and the editor opens it.
  await server.restart();
  await expect(device.locator('.notice')).toContainText('восстановлено изменений: 2', { timeout: 45_000 });
  expect(await descriptions(device)).toEqual(['С сервера', 'Только на устройстве']);
  expect((await quarantined(device, id)).length).toBe(1);
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
  const other = await signedInDevice(browser, server.url);
  await other.goto(path);
  expect(await descriptions(other)).toEqual(['С сервера', 'Только на устройстве']);

  // Broken again while online: «Загрузить с сервера заново» on the list.
  const markBroken = () =>
    device.evaluate(async (id) => {
      const db: IDBDatabase = await new Promise((ok) => (indexedDB.open('medk').onsuccess = (e: any) => ok(e.target.result)));
      const req = <T>(r: IDBRequest<T>) => new Promise<T>((ok) => (r.onsuccess = () => ok(r.result)));
      const tx = db.transaction(['roadmaps'], 'readwrite');
      const meta: any = await req(tx.objectStore('roadmaps').get(id));
      meta.broken = 'повреждено';
      tx.objectStore('roadmaps').put(meta);
      await new Promise((ok) => (tx.oncomplete = ok));
      db.close();
    }, id);
  await device.goto('/icon.svg');
  await markBroken();
  await device.goto('/');
  const item = device.locator('.roadmap-item', { hasText: 'Испорченный диск' });
  await item.getByRole('button', { name: 'Загрузить с сервера заново' }).click({ timeout: 5_000 }).catch(() => {
    // Already brought back on connecting: that is the same outcome.
  });
  await expect(item).not.toHaveClass(/broken/, { timeout: 20_000 });
  await item.locator('.item-title').click();
  expect(await descriptions(device)).toEqual(['С сервера', 'Только на устройстве']);

  // Broken again offline: deleted on the device (quarantine too), the link
  // fetches the server's copy afresh.
  await server.kill('SIGKILL');
  await device.goto('/icon.svg');
  await markBroken();
  await device.goto('/');
  await item.getByRole('button', { name: 'Удалить' }).click();
  await item.getByRole('button', { name: 'Да, удалить' }).click();
  await expect.poll(async () => (await listRecord(device, id)) === null, { timeout: 15_000 }).toBe(true);
  expect(await quarantined(device, id)).toEqual([]);
  expect(await storedPieces(device, id)).toEqual([]);
  await server.restart();
  await device.goto(path);
  expect(await descriptions(device)).toEqual(['С сервера', 'Только на устройстве']);
});

test('after an offline restart the indicator counts unsent changes without opening the roadmaps', async ({ browser, server }) => {
  const device = await signedInDevice(browser, server.url);
  const path = await createRoadmap(device, 'Счёт изменений');
  await addActivity(device, 0, 'Отправлено');
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  await waitForOfflineReady(device);
  await server.kill('SIGKILL');
  await addActivity(device, 0, 'Не отправлено');
  await expect(syncStatus(device)).toContainText('не отправлено', { timeout: 10_000 });
  await settled(device);

  // A restart straight into the list: the roadmap is not opened, and the
  // indicator knows at once.
  await device.goto('/');
  await expect(syncStatus(device)).toContainText('не отправлено', { timeout: 2_000 });
  await expect(syncStatus(device)).not.toHaveAttribute('data-state', 'synced');

  await server.restart();
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
  const other = await signedInDevice(browser, server.url);
  await other.goto(path);
  expect(await descriptions(other)).toEqual(['Отправлено', 'Не отправлено']);
});

test('a browser killed offline before it wrote down its session: the changes made still count as unsent, and «всё сохранено» waits for the server', async ({ browser, server }) => {
  const device = await signedInDevice(browser, server.url);
  const path = await createRoadmap(device, 'Убитый браузер');
  await addActivity(device, 0, 'Отправлено');
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  await waitForOfflineReady(device);
  await device.context().setOffline(true);
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'offline', { timeout: 15_000 });
  await addActivity(device, 0, 'Без связи');
  await activities(device).nth(1).locator('textarea.f-description').pressSequentially(' в школе');
  await settled(device);
  await expect(syncStatus(device)).toContainText('не отправлено');
  // What a browser killed a moment after the edits leaves: IndexedDB has
  // them, localStorage never wrote which actors this session used.
  await device.evaluate(() => {
    for (const key of Object.keys(localStorage)) if (key.startsWith('medk.actors.')) localStorage.removeItem(key);
  });
  await device.reload();
  await editorLoaded(device);
  expect(await descriptions(device)).toEqual(['Отправлено', 'Без связи в школе']);
  await expect(syncStatus(device)).toContainText('не отправлено', { timeout: 5_000 });
  await device.goto('/');
  await expect(syncStatus(device)).toContainText('не отправлено');
  expect((await listRecord(device, docId(path))).unsent).toBeGreaterThan(0);

  // Online, «всё сохранено» only once the server has them.
  await device.context().setOffline(false);
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
  const other = await signedInDevice(browser, server.url);
  await other.goto(path);
  expect(await descriptions(other)).toEqual(['Отправлено', 'Без связи в школе']);
});

/** How many Automerge chunks stored bytes hold (magic, checksum, type, LEB128 length). */
function chunkCount(bytes: number[]): number {
  let at = 0;
  let count = 0;
  while (at + 9 < bytes.length) {
    let len = 0;
    let shift = 0;
    let i = at + 9;
    for (;;) {
      const b = bytes[i++];
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    at = i + len;
    count += 1;
  }
  return count;
}

test('one damaged piece in the middle of unsent work: the changes after it are kept and counted, and the notice says what may be lost', async ({ browser, server }) => {
  const device = await signedInDevice(browser, server.url);
  const path = await createRoadmap(device, 'Повреждённая середина');
  const id = docId(path);
  await addActivity(device, 0, 'Отправлено');
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  await waitForOfflineReady(device);
  await device.context().setOffline(true);
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'offline', { timeout: 15_000 });
  await settled(device);
  const sent = new Set((await storedPieces(device, id)).map((p) => p.key));

  // Eight characters typed offline, each stored as a piece of its own.
  const field = activities(device).nth(0).locator('textarea.f-description');
  for (const ch of 'абвгдежз') {
    const before = (await storedPieces(device, id)).length;
    await field.pressSequentially(ch);
    await settled(device);
    await expect.poll(async () => (await storedPieces(device, id)).length, { timeout: 10_000 }).toBeGreaterThan(before);
  }
  const offline = (await storedPieces(device, id)).filter((p) => !sent.has(p.key));
  expect(offline.length).toBeGreaterThanOrEqual(8);
  // Every change stored offline is owed (each piece's chunks are changes).
  const owed = offline.reduce((n, p) => n + chunkCount(p.bytes), 0);
  await expect(syncStatus(device)).toContainText(`не отправлено: ${owed}`);

  // A broken disk spoils the piece with the fourth character.
  const damaged = offline[3];
  const lostThere = chunkCount(damaged.bytes);
  await device.goto('/icon.svg');
  await spoilChunks(device, [damaged.key]);

  // Offline again: what came before the damage opens; the changes after it
  // wait for it and still count as not sent; the notice does not promise
  // the server will bring them.
  await device.goto(path);
  await editorLoaded(device);
  await expect(field).toHaveValue('Отправленоабв');
  const notice = device.locator('.notice');
  await expect(notice).toContainText('повреждена');
  await expect(notice).toContainText('ждут их');
  await expect(notice).toContainText('если нет, этого не восстановить');
  await expect(notice).not.toContainText('придёт с сервера');
  await expect(syncStatus(device)).toContainText(`не отправлено: ${owed - lostThere}`);
  await device.goto('/');
  await expect(syncStatus(device)).toContainText(`не отправлено: ${owed - lostThere}`);

  // Online, the intact changes before the damage reach the server. It never
  // had the damaged one, so the changes waiting for it can never apply: the
  // device says so once and stops counting them (a trial's device said
  // «Синхронизация · не отправлено: 27» for good).
  const waitingThere = offline.slice(4).reduce((n, p) => n + chunkCount(p.bytes), 0);
  await device.context().setOffline(false);
  const other = await signedInDevice(browser, server.url);
  await other.goto(path);
  await expect(activities(other).nth(0).locator('textarea.f-description')).toHaveValue('Отправленоабв', { timeout: 20_000 });
  await expect(device.locator('.notice')).toContainText(`Не восстановить ${waitingThere} `, { timeout: 20_000 });
  await expect(device.locator('.notice')).toContainText('которых нет и на сервере');
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
  await device.reload();
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
  // Said once: the count that sets «synced» is the one that would say it.
  await expect(device.locator('.notice', { hasText: 'Не восстановить' })).toHaveCount(0);
  await expect(device.locator('.notice', { hasText: 'повреждена' })).toHaveCount(0);
});

test('a device started with changes the server lacks never says «всё сохранено» before the server has them', async ({ browser, server }) => {
  const context = await browser.newContext({ baseURL: server.url });
  await signIn(context, server.url);
  // A slow link after the greeting: while `hold` is on, what the device
  // sends waits on the way (the relay answers `join`, so it is online).
  let hold = false;
  const held: (() => void)[] = [];
  await context.routeWebSocket(/\/sync$/, (ws) => {
    const relay = ws.connectToServer();
    let greeted = false;
    ws.onMessage((m) => {
      if (!greeted) {
        greeted = true;
        relay.send(m);
      } else if (hold) held.push(() => relay.send(m));
      else relay.send(m);
    });
  });
  const device = await context.newPage();
  const path = await createRoadmap(device, 'Запуск с неотправленным');
  await addActivity(device, 0, 'Отправлено');
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  await waitForOfflineReady(device);
  await context.setOffline(true);
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'offline', { timeout: 15_000 });
  await activities(device).nth(0).locator('textarea.f-description').pressSequentially(' в школе');
  await settled(device);
  await expect(syncStatus(device)).toContainText('не отправлено');

  // Every state the indicator shows from the first moment of the next start.
  await device.addInitScript(() => {
    const seen: string[] = ((window as any).__states = []);
    new MutationObserver(() => {
      const now = document.querySelector('.sync-status')?.getAttribute('data-state') ?? 'none';
      if (seen[seen.length - 1] !== now) seen.push(now);
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  hold = true;
  await context.setOffline(false);
  await device.goto('/');
  await expect(syncStatus(device)).toContainText('не отправлено', { timeout: 10_000 });
  await device.waitForTimeout(2_000);
  const states: string[] = await device.evaluate(() => (window as any).__states);
  expect(states, 'while the server had nothing of it').not.toContain('synced');

  hold = false;
  for (const send of held.splice(0)) send();
  await expect(syncStatus(device)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
  const other = await signedInDevice(browser, server.url);
  await other.goto(path);
  expect(await descriptions(other)).toEqual(['Отправлено в школе']);
});
