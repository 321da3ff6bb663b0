import { test, expect } from '../support/server';
import { addActivity, createRoadmap, descriptions } from '../support/app';

test('a corrupt roadmap shows its own error, the others open, the bad bytes are kept', async ({ page }) => {
  const good = await createRoadmap(page, 'Исправная карта');
  await addActivity(page, 0, 'Работает');
  const bad = await createRoadmap(page, 'Испорченная карta');
  const badId = bad.split('/').pop()!;

  // Damage the stored bytes of the second roadmap, as a broken disk or a bug would.
  await page.goto('/');
  await page.evaluate(async (id) => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const req = indexedDB.open('medk');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = db.transaction('chunks', 'readwrite');
    const store = tx.objectStore('chunks');
    const keys: IDBValidKey[] = await new Promise((resolve) => {
      const req = store.index('by_doc').getAllKeys(IDBKeyRange.only(id));
      req.onsuccess = () => resolve(req.result);
    });
    for (const key of keys) {
      store.put({ doc: id, kind: 'snapshot', bytes: new Uint8Array([0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 5]) }, key);
    }
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
  }, badId);

  await page.goto(bad);
  const alert = page.getByRole('alert').filter({ hasText: 'Не удалось открыть дорожную карту' });
  await expect(alert).toContainText('повреждена');
  await expect(alert.locator('.detail')).toContainText('Подробности');

  await page.goto('/');
  const broken = page.locator('.roadmap-item', { hasText: 'Испорченная' });
  await expect(broken).toHaveClass(/broken/);
  await expect(broken).toContainText('Копия на этом устройстве повреждена');
  await expect(broken.getByRole('button', { name: 'Загрузить с сервера заново' })).toBeVisible();
  await expect(page.locator('.sync-status')).toContainText(/не читаются на устройстве: 1/i);
  await page.locator('.roadmap-item', { hasText: 'Исправная карта' }).locator('.item-title').click();
  await expect(page).toHaveURL(new RegExp(`${good}$`));
  expect(await descriptions(page)).toEqual(['Работает']);

  // The damaged bytes were moved aside, not overwritten or dropped.
  const quarantined = await page.evaluate(async (id) => {
    const db: IDBDatabase = await new Promise((resolve) => {
      const req = indexedDB.open('medk');
      req.onsuccess = () => resolve(req.result);
    });
    const all: any[] = await new Promise((resolve) => {
      const req = db.transaction('quarantine').objectStore('quarantine').getAll();
      req.onsuccess = () => resolve(req.result);
    });
    db.close();
    return all.filter((r) => r.doc === id).map((r) => Array.from(r.chunks[0] as Uint8Array));
  }, badId);
  expect(quarantined).toEqual([[0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 5]]);
});

test('storage held at an older layout by another tab: the app says so, and starts once that tab closes', async ({ page, context }) => {
  // Another tab still runs an older version of the app: its connection to
  // the device's database, at an older version, ignores requests to upgrade.
  const old = await context.newPage();
  await old.goto('/icon.svg');
  await old.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open('medk', 2);
        req.onupgradeneeded = () => req.result.createObjectStore('roadmaps', { keyPath: 'id' });
        req.onsuccess = () => {
          (window as unknown as { held: IDBDatabase }).held = req.result;
          resolve();
        };
        req.onerror = () => reject(req.error);
      }),
  );

  await page.goto('/');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('занято другой вкладкой medk', { timeout: 15_000 });
  await expect(alert).toContainText('Закройте или обновите другие вкладки');

  await old.close();
  await expect(page.getByRole('button', { name: 'Создать дорожную карту' })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole('alert')).toHaveCount(0);
});
