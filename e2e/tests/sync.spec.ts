// Two people, two browsers (isolated contexts: separate IndexedDB), one
// roadmap through a real medk-server: live edits, presence, a relay that
// dies and comes back while both keep working. Every device is signed in
// as the server's federal coordinator (who may write every roadmap), so
// these test syncing, not rights (accounts.spec.ts does those).
import type { Browser, Page } from '@playwright/test';
import { test, expect, signIn } from '../support/server';
import { activities, addActivity, createRoadmap, descriptions, editorLoaded, waitForOfflineReady } from '../support/app';

async function person(browser: Browser, baseURL: string, name: string): Promise<Page> {
  const context = await browser.newContext({ baseURL });
  await signIn(context, baseURL);
  const page = await context.newPage();
  await page.goto('/');
  await page.getByRole('button', { name: /Всё сохранено|Подключение|Синхронизация|Нет связи/ }).click();
  await page.getByLabel('Ваше имя для соавторов').fill(name);
  await page.getByLabel('Ваше имя для соавторов').press('Enter');
  await page.getByRole('button', { name: /Всё сохранено|Подключение|Синхронизация|Нет связи/ }).click();
  return page;
}

function syncStatus(page: Page) {
  return page.locator('.sync-status');
}

async function expectSynced(page: Page) {
  await expect(syncStatus(page)).toHaveAttribute('data-state', 'synced', { timeout: 10_000 });
  await expect(syncStatus(page)).toHaveText('Всё сохранено на сервере');
}

function description(page: Page, index: number) {
  return activities(page).nth(index).locator('textarea.f-description');
}

test('two people edit one roadmap live, and keep working through a relay outage', async ({ browser, server }) => {
  const curator = await person(browser, server.url, 'Куратор Иванова');
  const school = await person(browser, server.url, 'Завуч Петров');

  // The curator creates the roadmap; the school opens it by its link.
  const path = await createRoadmap(curator, 'Школа № 7: дорожная карта');
  await addActivity(curator, 0, 'Диагностика профессиональных дефицитов');
  await expectSynced(curator);
  await school.goto(path);
  expect(await descriptions(school)).toEqual(['Диагностика профессиональных дефицитов']);
  await expect(school.getByLabel('Название дорожной карты')).toHaveValue('Школа № 7: дорожная карта');

  // Presence: each sees the other.
  await expect(curator.locator('.presence')).toContainText('Завуч Петров', { timeout: 15_000 });
  await expect(school.locator('.presence')).toContainText('Куратор Иванова', { timeout: 15_000 });

  // Live: an edit on one screen shows on the other within a second.
  await addActivity(school, 0, 'Методический семинар');
  await expect(description(curator, 1)).toHaveValue('Методический семинар', { timeout: 1_000 });
  await activities(curator).nth(0).getByLabel('Статус').selectOption('in-progress');
  await expect(activities(school).nth(0).getByLabel('Статус')).toHaveValue('in-progress', { timeout: 1_000 });

  // Both type in the same text at once: each keeps their own caret (the
  // curator's stays at the start while the school's words arrive at the end).
  await description(curator, 1).click();
  await description(curator, 1).press('Control+Home');
  await description(school, 1).click();
  await description(school, 1).press('Control+End');
  await description(school, 1).pressSequentially(' для учителей');
  await expect(description(curator, 1)).toHaveValue('Методический семинар для учителей', { timeout: 1_000 });
  await description(curator, 1).pressSequentially('Очный ');
  for (const page of [curator, school]) {
    await expect(description(page, 1)).toHaveValue('Очный Методический семинар для учителей', { timeout: 2_000 });
  }

  // The relay dies. Both keep editing: different fields of one activity,
  // and the same description.
  await server.kill('SIGKILL');
  await expect(syncStatus(curator)).not.toHaveAttribute('data-state', 'synced', { timeout: 25_000 });
  await expect(syncStatus(school)).not.toHaveAttribute('data-state', 'synced', { timeout: 25_000 });

  await activities(curator).nth(1).getByLabel('Статус').selectOption('done');
  await activities(school).nth(1).locator('textarea.f-responsible').fill('Петров А. А.');
  await description(curator, 0).press('Control+End');
  await description(curator, 0).pressSequentially(' педагогов');
  await description(school, 0).press('Control+Home');
  await description(school, 0).pressSequentially('Входная ');
  await expect(syncStatus(curator)).toContainText('не отправлено');

  // The relay comes back: both converge, with both people's edits kept.
  await server.restart();
  await expectSynced(curator);
  await expectSynced(school);
  const merged = 'Входная Диагностика профессиональных дефицитов педагогов';
  for (const page of [curator, school]) {
    await expect(description(page, 0)).toHaveValue(merged, { timeout: 10_000 });
    await expect(activities(page).nth(1).getByLabel('Статус')).toHaveValue('done');
    await expect(activities(page).nth(1).locator('textarea.f-responsible')).toHaveValue('Петров А. А.');
    await expect(activities(page).nth(0).getByLabel('Статус')).toHaveValue('in-progress');
  }

  // What the relay stored is what a third device gets.
  const third = await person(browser, server.url, 'Координатор');
  await third.goto(path);
  await editorLoaded(third);
  await expect(description(third, 0)).toHaveValue(merged);
  expect(await descriptions(third)).toEqual([merged, 'Очный Методический семинар для учителей']);
});

test('a link to a roadmap the server does not have says so', async ({ page, server }) => {
  await signIn(page.context(), server);
  await page.goto('/r/2j9knpCseyhnK8izDmLpGP5WMdZQ');
  await expect(page.getByRole('alert')).toContainText('на сервере нет такой дорожной карты');
});

test('a link opened before its roadmap reached the server opens by itself once the author is online', async ({ browser, server }) => {
  const author = await person(browser, server.url, 'Куратор в дороге');
  const reader = await person(browser, server.url, 'Завуч');
  // The curator makes the roadmap with no signal and sends its link by SMS.
  await waitForOfflineReady(author);
  await author.context().setOffline(true);
  const path = await createRoadmap(author, 'Сделана без связи');
  await reader.goto(path);
  await expect(reader.getByRole('alert')).toContainText('по крайней мере пока');
  await expect(reader.getByRole('alert')).toContainText('откроет её сама');
  // Back in signal: the open page shows the roadmap without a reload.
  await author.context().setOffline(false);
  await expect(reader.getByLabel('Название дорожной карты')).toHaveValue('Сделана без связи', { timeout: 30_000 });
});

test('kill -9 of the relay in the middle of syncing loses nothing, across a reload while it is down', async ({ browser, server }) => {
  const writer = await person(browser, server.url, 'Автор');
  const path = await createRoadmap(writer, 'Перед сбоем');
  for (let i = 1; i <= 3; i++) await addActivity(writer, 0, `Мероприятие ${i}`);
  await waitForOfflineReady(writer);
  // Typing goes on while the relay is killed: some changes are acknowledged,
  // some are in flight, some are made while it is down.
  const typing = (async () => {
    for (let i = 4; i <= 8; i++) await addActivity(writer, 0, `Мероприятие ${i}`);
  })();
  await new Promise((r) => setTimeout(r, 300));
  await server.kill('SIGKILL');
  await typing;

  // The tablet reloads with no server: the app starts, still knows what the
  // server has not got, and takes more work.
  await writer.reload();
  expect(await descriptions(writer)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `Мероприятие ${i}`));
  await addActivity(writer, 0, 'Мероприятие 9');
  await expect(syncStatus(writer)).toContainText('не отправлено', { timeout: 10_000 });
  await expect(syncStatus(writer)).not.toHaveAttribute('data-state', 'synced');

  // Back online: everything reaches the server.
  await server.restart();
  await expectSynced(writer);
  const reader = await person(browser, server.url, 'Читатель');
  await reader.goto(path);
  expect(await descriptions(reader)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `Мероприятие ${i}`));
});

test('a roadmap that is not open still syncs: the list shows a rename made elsewhere', async ({ browser, server }) => {
  const a = await person(browser, server.url, 'А');
  const b = await person(browser, server.url, 'Б');
  const path = await createRoadmap(a, 'Старое название');
  await expectSynced(a);
  await b.goto(path);
  await editorLoaded(b);
  await b.goto('/');
  await expect(b.locator('.roadmap-item', { hasText: 'Старое название' })).toBeVisible();

  await a.getByLabel('Название дорожной карты').fill('Новое название');
  await expect(b.locator('.roadmap-item', { hasText: 'Новое название' })).toBeVisible({ timeout: 5_000 });
});

test('typing goes on where it was when a colleague moves the row being typed in', async ({ browser, server }) => {
  const typist = await person(browser, server.url, 'Печатает');
  const mover = await person(browser, server.url, 'Двигает');
  const path = await createRoadmap(typist, 'Движение строк');
  for (const text of ['Первое', 'Второе', 'Третье']) await addActivity(typist, 0, text);
  await expectSynced(typist);
  await mover.goto(path);
  expect(await descriptions(mover)).toEqual(['Первое', 'Второе', 'Третье']);

  const field = description(typist, 2);
  await field.click();
  await field.press('Control+End');
  await field.pressSequentially(' — протокол заседания');
  // Meanwhile the colleague moves that row up, then a neighbour past it.
  await activities(mover).nth(2).getByRole('button', { name: 'Переместить выше' }).click();
  await expect.poll(() => descriptions(typist), { timeout: 5_000 }).toEqual(['Первое', 'Третье — протокол заседания', 'Второе']);
  await field.page().keyboard.type(' рабочей группы');
  await activities(mover).nth(0).getByRole('button', { name: 'Переместить ниже' }).click();
  await expect.poll(() => descriptions(typist), { timeout: 5_000 }).toEqual([
    'Третье — протокол заседания рабочей группы',
    'Первое',
    'Второе',
  ]);
  await typist.keyboard.type(' № 3');
  const typed = 'Третье — протокол заседания рабочей группы № 3';
  await expect.poll(() => descriptions(typist)).toEqual([typed, 'Первое', 'Второе']);
  await expect.poll(() => descriptions(mover), { timeout: 5_000 }).toEqual([typed, 'Первое', 'Второе']);
});
