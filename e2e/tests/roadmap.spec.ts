import { test, expect } from '../support/server';
import { activities, addActivity, createRoadmap, descriptions, section, setSectionTitle } from '../support/app';
import { holdStorage } from '../support/device';

test('a roadmap with 2 sections and 5 activities survives a reload', async ({ page }) => {
  const path = await createRoadmap(page, 'Дорожная карта МОУ Мышкинская СОШ');
  await setSectionTitle(page, 0, '1. Организационное сопровождение проекта');
  await addActivity(page, 0, 'Назначение школьного координатора');
  await addActivity(page, 0, 'Разработка дорожной карты школы');
  const third = await addActivity(page, 0, 'Заседание рабочей группы');
  await third.getByLabel('Сроки').fill('февраль - март 2022');
  await third.getByLabel('Статус').selectOption('done');

  await page.getByRole('button', { name: '+ Раздел' }).first().click();
  await expect(page.locator('.section')).toHaveCount(2);
  await expect(section(page, 1).getByLabel('Название раздела')).toBeFocused();
  // What the person types replaces the default title, not joins it.
  await page.keyboard.type('2. Методическое сопровождение');
  await addActivity(page, 1, 'Семинар для учителей');
  await addActivity(page, 1, 'Вебинар для родителей');

  await page.reload();
  await expect(page.getByLabel('Название дорожной карты')).toHaveValue('Дорожная карта МОУ Мышкинская СОШ');
  await expect(page.locator('.section')).toHaveCount(2);
  await expect(section(page, 0).getByLabel('Название раздела')).toHaveValue('1. Организационное сопровождение проекта');
  await expect(section(page, 1).getByLabel('Название раздела')).toHaveValue('2. Методическое сопровождение');
  await expect(activities(page)).toHaveCount(5);
  expect(await descriptions(page)).toEqual([
    'Назначение школьного координатора',
    'Разработка дорожной карты школы',
    'Заседание рабочей группы',
    'Семинар для учителей',
    'Вебинар для родителей',
  ]);
  const stored = activities(page).nth(2);
  await expect(stored.getByLabel('Сроки')).toHaveValue('февраль - март 2022');
  await expect(stored.getByLabel('Статус')).toHaveValue('done');
  await expect(stored.getByLabel('Дата исполнения')).not.toHaveValue('');
  expect(new URL(page.url()).pathname).toBe(path);

  // The list shows it with its activity count.
  await page.goto('/');
  const item = page.locator('.roadmap-item', { hasText: 'Дорожная карта МОУ Мышкинская СОШ' });
  await expect(item).toContainText('мероприятий: 5');
});

test('an edit is stored at once: a reload right after typing keeps it', async ({ page }) => {
  await createRoadmap(page, 'Быстрая правка');
  const row = await addActivity(page, 0, 'Первое');
  await row.locator('textarea.f-description').pressSequentially(' и второе', { delay: 0 });
  await page.reload();
  expect(await descriptions(page)).toEqual(['Первое и второе']);
});

test('a paste longer than a field holds is cut at the limit, and the person is told; so is typing into a full field', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await createRoadmap(page, 'Длинная вставка');
  const row = await addActivity(page, 0, '');
  const field = row.locator('textarea.f-description');
  const long = 'Описание мероприятия. '.repeat(1_300); // 28,600 characters
  await page.evaluate((text) => navigator.clipboard.writeText(text), long);
  await field.focus();
  await page.keyboard.press('Control+V');
  await expect(page.locator('.notices')).toContainText('В поле помещается не больше 20\u00a0000 знаков: вставлено только начало текста.');
  // Typing on into the full field is not silently dropped either.
  await page.keyboard.press('End');
  await page.keyboard.type('я');
  await expect(page.locator('.notices')).toContainText('оно заполнено, сократите текст, чтобы дописать');
  await page.reload();
  expect(await descriptions(page)).toEqual([long.slice(0, 20_000)]);
});

test('a deletion notice\'s «Отменить» restores that row even after other edits, and the keyboard stays in the sheet', async ({ page }) => {
  await createRoadmap(page, 'Отмена удаления');
  await addActivity(page, 0, 'А');
  await addActivity(page, 0, 'Б');
  await addActivity(page, 0, 'В');
  // ✕ on «Б»: the keyboard lands on the next row, not on the page.
  await activities(page).nth(1).getByRole('button', { name: 'Удалить мероприятие' }).click();
  await expect.poll(() => descriptions(page)).toEqual(['А', 'В']);
  await expect(activities(page).nth(1).locator('textarea.f-description')).toBeFocused();
  // Typing there, then the notice's «Отменить»: «Б» is back, the typing stays.
  await page.keyboard.press('End');
  await page.keyboard.type(' и ещё');
  await expect.poll(() => descriptions(page)).toEqual(['А', 'В и ещё']);
  await page.getByRole('status').getByRole('button', { name: 'Отменить' }).click();
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Б', 'В и ещё']);
  // The last row deleted: the keyboard goes to the row before it.
  await activities(page).nth(2).locator('textarea.f-description').focus();
  await page.keyboard.press('Alt+Delete');
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Б']);
  await expect(activities(page).nth(1).locator('textarea.f-description')).toBeFocused();
  await page.keyboard.press('Alt+Delete');
  await expect.poll(() => descriptions(page)).toEqual(['А']);
});

test('rows are inserted, reordered, deleted and restored; undo and redo work from the keyboard', async ({ page }) => {
  await createRoadmap(page, 'Порядок строк');
  await addActivity(page, 0, 'А');
  await addActivity(page, 0, 'Б');
  await addActivity(page, 0, 'В');

  // Move «В» up twice with the buttons (works the same by touch).
  const rowV = activities(page).nth(2);
  await rowV.getByRole('button', { name: 'Переместить выше' }).click();
  await activities(page).nth(1).getByRole('button', { name: 'Переместить выше' }).click();
  await expect.poll(() => descriptions(page)).toEqual(['В', 'А', 'Б']);

  // Alt+ArrowDown moves the focused row.
  await activities(page).nth(0).locator('textarea.f-description').focus();
  await page.keyboard.press('Alt+ArrowDown');
  await expect.poll(() => descriptions(page)).toEqual(['А', 'В', 'Б']);

  // Ctrl+Enter inserts a row under the focused one and focuses it.
  await activities(page).nth(0).locator('textarea.f-description').focus();
  await page.keyboard.press('Control+Enter');
  await expect(activities(page)).toHaveCount(4);
  await expect(activities(page).nth(1).locator('textarea.f-description')).toBeFocused();
  await page.keyboard.type('Новое');
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Новое', 'В', 'Б']);

  // Delete, then «Отменить» in the notice brings it back.
  await activities(page).nth(2).getByRole('button', { name: 'Удалить мероприятие' }).click();
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Новое', 'Б']);
  await page.getByRole('status').getByRole('button', { name: 'Отменить' }).click();
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Новое', 'В', 'Б']);

  // «Отменить» was the undo of the delete, so Ctrl+Z now undoes the typing
  // of «Новое», as one step; Ctrl+Y brings it back.
  await page.locator('.doc-title').focus();
  await page.keyboard.press('Control+z');
  await expect.poll(() => descriptions(page)).toEqual(['А', '', 'В', 'Б']);
  await page.keyboard.press('Control+y');
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Новое', 'В', 'Б']);
  // The delete is next on the redo stack: Ctrl+Shift+Z deletes again.
  await page.keyboard.press('Control+Shift+z');
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Новое', 'Б']);
  await expect(page.getByRole('button', { name: '↷ Повторить' })).toBeDisabled();
  await page.keyboard.press('Control+z');
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Новое', 'В', 'Б']);

  await page.reload();
  await expect.poll(() => descriptions(page)).toEqual(['А', 'Новое', 'В', 'Б']);
});

test('the list renames, duplicates and deletes with confirmation and undo', async ({ page }) => {
  await createRoadmap(page, 'Исходная карта');
  await addActivity(page, 0, 'Мероприятие из исходной');
  await page.goto('/');
  const item = page.locator('.roadmap-item', { hasText: 'Исходная карта' });

  await item.getByRole('button', { name: 'Переименовать' }).click();
  await page.getByLabel('Новое название').fill('Переименованная карта');
  await page.getByRole('button', { name: 'Сохранить' }).click();
  const renamed = page.locator('.roadmap-item', { hasText: 'Переименованная карта' });
  await expect(renamed).toBeVisible();

  await renamed.getByRole('button', { name: 'Дублировать' }).click();
  const copy = page.locator('.roadmap-item', { hasText: 'Переименованная карта (копия)' });
  await expect(copy).toBeVisible();
  await copy.locator('.item-title').click();
  expect(await descriptions(page)).toEqual(['Мероприятие из исходной']);
  // Links change screens in place, and Back returns to the list.
  await page.goBack();
  await expect(page.getByRole('heading', { name: 'Дорожные карты' })).toBeVisible();
  await page.goForward();
  expect(await descriptions(page)).toEqual(['Мероприятие из исходной']);

  await page.goto('/');
  await expect(page.locator('.roadmap-item')).toHaveCount(2);
  const original = page.locator('.roadmap-item', { hasText: 'Переименованная карта' }).filter({ hasNotText: 'копия' });
  await original.getByRole('button', { name: 'Удалить' }).click();
  // Signed out, the roadmap is on this device alone, and the dialog says so.
  await expect(original.getByRole('alertdialog')).toContainText('есть только на этом устройстве');
  await original.getByRole('button', { name: 'Да, удалить' }).click();
  await expect(page.locator('.roadmap-item')).toHaveCount(1);
  await page.getByRole('status').getByRole('button', { name: 'Отменить' }).click();
  await expect(page.locator('.roadmap-item')).toHaveCount(2);
  // What came back opens, with its content.
  await original.locator('a.item-title').click();
  expect(await descriptions(page)).toEqual(['Мероприятие из исходной']);
  await page.goto('/');

  // Deleted at once: a tab closed (reloaded) before IndexedDB could commit
  // the deletion (its storage held busy) does not bring it back.
  await original.getByRole('button', { name: 'Удалить' }).click();
  await holdStorage(page);
  await original.getByRole('button', { name: 'Да, удалить' }).click();
  await expect(page.locator('.roadmap-item')).toHaveCount(1);
  await page.reload();
  await expect(page.locator('.roadmap-item')).toHaveCount(1);
  await expect(page.locator('.roadmap-item')).toContainText('(копия)');
});

test('a roadmap opens from its cached view, which the document then corrects', async ({ page }) => {
  const path = await createRoadmap(page, 'Карта с кэшем');
  const id = path.split('/').pop()!;
  const row = await addActivity(page, 0, 'Старое описание');

  // The cached view is written a moment after the last change.
  const readView = () =>
    page.evaluate(async (id) => {
      const db: IDBDatabase = await new Promise((resolve) => {
        const req = indexedDB.open('medk');
        req.onsuccess = () => resolve(req.result);
      });
      const view: any = await new Promise((resolve) => {
        const req = db.transaction('views').objectStore('views').get(id);
        req.onsuccess = () => resolve(req.result);
      });
      db.close();
      return view ? { id: view.id, heads: view.heads, roadmap: Array.from(view.roadmap as Uint8Array) } : null;
    }, id);
  await expect.poll(readView, { timeout: 10_000 }).not.toBeNull();
  const old = (await readView())!;

  await row.locator('textarea.f-description').fill('Настоящее описание');
  await expect.poll(async () => (await readView())!.heads, { timeout: 10_000 }).not.toEqual(old.heads);

  // Put the old view back: the cache now shows an earlier state of the roadmap.
  await page.goto('/');
  await page.evaluate(async (view) => {
    const db: IDBDatabase = await new Promise((resolve) => {
      const req = indexedDB.open('medk');
      req.onsuccess = () => resolve(req.result);
    });
    const tx = db.transaction('views', 'readwrite');
    tx.objectStore('views').put({ ...view, roadmap: new Uint8Array(view.roadmap) });
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
  }, old);

  await page.goto(path);
  // The cached view drew the page first…
  await expect.poll(() => page.evaluate(() => performance.getEntriesByName('medk:view').length)).toBe(1);
  // …and the document corrected it.
  expect(await descriptions(page)).toEqual(['Настоящее описание']);
});

test('an activity is moved by dragging its handle (pointer events: finger, pen or mouse)', async ({ page }) => {
  await createRoadmap(page, 'Перетаскивание');
  await addActivity(page, 0, 'Первое');
  await addActivity(page, 0, 'Второе');
  await addActivity(page, 0, 'Третье');

  const handle = activities(page).nth(2).getByRole('button', { name: 'Перетащить мероприятие' });
  const target = (await activities(page).nth(0).boundingBox())!;
  const from = (await handle.boundingBox())!;
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  // Into the upper half of the first row: lands before it.
  await page.mouse.move(target.x + target.width / 2, target.y + 8, { steps: 8 });
  await expect(activities(page).nth(0)).toHaveClass(/drop-before/);
  await page.mouse.up();
  await expect.poll(() => descriptions(page)).toEqual(['Третье', 'Первое', 'Второе']);

  // And it is one undoable step.
  await page.keyboard.press('Control+z');
  await expect.poll(() => descriptions(page)).toEqual(['Первое', 'Второе', 'Третье']);
});
