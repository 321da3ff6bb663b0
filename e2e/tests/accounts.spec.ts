// Accounts in the app, against a real medk-server: inviting people, what a
// person with only the right to read sees (and that the server keeps none
// of their changes), and a session that ends while the device is away.
import type { Page } from '@playwright/test';
import { activities, addActivity, createRoadmap, descriptions, editorLoaded, waitForOfflineReady } from '../support/app';
import { device, expect, expectSynced, signInByForm, syncStatus, test } from '../support/accounts';

const FEDERAL = {
  login: 'fed',
  password: 'federal-secret-1',
  role: 'federal-coordinator',
  name: 'Иванов Иван Иванович',
};

function description(page: Page, index: number) {
  return activities(page).nth(index).locator('textarea.f-description');
}

test('a federal coordinator adds a region and invites its coordinator, who registers by the link', async ({ browser, serve }) => {
  const server = await serve({ people: [FEDERAL] });
  const fed = await device(browser, server.url);

  // Before signing in the app works on this device only, and says so.
  await fed.goto('/');
  await expect(syncStatus(fed)).toHaveAttribute('data-state', 'signed-out');
  await expect(syncStatus(fed)).toContainText('Вход не выполнен');

  await fed.getByRole('link', { name: 'Войти' }).click();
  await expect(fed).toHaveURL(/\/login$/);
  const form = fed.getByRole('form', { name: 'Вход' });
  await form.getByLabel('Логин').fill('fed');
  await form.getByLabel('Пароль', { exact: true }).fill('wrong password');
  await form.getByRole('button', { name: 'Войти' }).click();
  await expect(form.getByRole('alert')).toContainText('неверный логин или пароль');
  await signInByForm(fed, FEDERAL.login, FEDERAL.password, FEDERAL.name);
  await expectSynced(fed);

  await fed.locator('.account .topbar-button').click();
  await fed.getByRole('link', { name: 'Люди и доступ' }).click();
  await expect(fed.getByRole('heading', { name: 'Люди и доступ' })).toBeVisible();

  const addUnit = fed.getByRole('form', { name: 'Добавить организацию' });
  await expect(addUnit.getByLabel('Входит в').locator('option:checked')).toContainText('Проект «500+»');
  await addUnit.getByRole('combobox', { name: /^Уровень/ }).selectOption({ label: 'Регион' });
  await addUnit.getByLabel('Название').fill('Каменская область');
  await addUnit.getByRole('button', { name: 'Добавить организацию' }).click();
  await expect(fed.locator('.tree')).toContainText('Каменская область');

  const invite = fed.getByRole('form', { name: 'Новое приглашение' });
  await invite.getByLabel('Роль').selectOption({ label: 'Региональный координатор' });
  await expect(invite.getByLabel('Организация').locator('option:checked')).toContainText('Каменская область');
  await invite.getByRole('button', { name: 'Создать приглашение' }).click();
  await expect(fed.locator('.invite-link')).toBeVisible();
  const link = await fed.locator('.invite-link').getByLabel('Ссылка-приглашение').inputValue();
  expect(link).toMatch(new RegExp(`^${server.url}/invite/[^/]+$`));
  await expect(fed.locator('.entry', { hasText: 'Региональный координатор' })).toContainText('Каменская область');

  // The invited person opens the link on their own device.
  const regional = await device(browser, server.url);
  await regional.goto(link);
  await expect(regional.locator('.invitation')).toContainText('Региональный координатор');
  await expect(regional.locator('.invitation')).toContainText('Каменская область');
  await regional.getByLabel('ФИО').fill('Петрова Анна Сергеевна');
  await regional.getByLabel('Логин').fill('petrova');
  await regional.getByLabel('Пароль', { exact: true }).fill('regional-secret-1');
  await regional.getByLabel('Пароль ещё раз').fill('regional-secret-2');
  await regional.getByRole('button', { name: 'Принять приглашение' }).click();
  await expect(regional.getByRole('alert')).toContainText('Пароли не совпадают');
  await regional.getByLabel('Пароль ещё раз').fill('regional-secret-1');
  await regional.getByRole('button', { name: 'Принять приглашение' }).click();

  await expect(regional.locator('.account-name')).toHaveText('Петрова Анна Сергеевна');
  await expect(regional).toHaveURL(`${server.url}/`);
  await expectSynced(regional);
  await regional.locator('.account .topbar-button').click();
  await expect(regional.locator('#account-panel')).toContainText('Региональный координатор, Каменская область');
  await expect(regional.getByRole('link', { name: 'Люди и доступ' })).toBeVisible();

  // A used invitation does not work again; the coordinator sees the new person.
  const third = await device(browser, server.url);
  await third.goto(link);
  await expect(third.getByRole('alert')).toContainText('Приглашение не найдено');
  await fed.reload();
  const people = fed.locator('li.entry:not(.invitation)');
  await expect(people.filter({ hasText: 'petrova' })).toContainText('Региональный координатор, Каменская область');
  await expect(people.filter({ hasText: 'Региональный координатор' })).toHaveCount(1);
  // The used invitation stays listed, saying who accepted it.
  await expect(fed.locator('li.invitation .accepted-by')).toHaveText('Принято: Петрова Анна Сергеевна (petrova)');
});

test('a person who may only read sees so, and the server keeps none of their edits', async ({ browser, serve }) => {
  const server = await serve({
    units: [
      { id: 'r1', parent: 'rf', level: 'region', name: 'Каменская область' },
      { id: 'm1', parent: 'r1', level: 'municipality', name: 'Каменский район' },
      { id: 's1', parent: 'm1', level: 'school', name: 'Школа № 1' },
    ],
    people: [
      { login: 'team1', password: 'team1-secret', role: 'school-team', unit: 's1', name: 'Учитель Первый' },
      { login: 'team2', password: 'team2-secret', role: 'school-team', unit: 's1', name: 'Учитель Второй' },
      { login: 'muni', password: 'muni-secret-1', role: 'municipal-coordinator', unit: 'm1', name: 'Координатор Района' },
    ],
  });

  // The school's roadmap, written by its team.
  const team1 = await device(browser, server.url);
  await signInByForm(team1, 'team1', 'team1-secret', 'Учитель Первый');
  const path = await createRoadmap(team1, 'Школа № 1: дорожная карта');
  await addActivity(team1, 0, 'Входная диагностика');
  await expectSynced(team1);
  await expect(team1.locator('.doc-unit')).toHaveText('Организация: Школа № 1', { timeout: 10_000 });
  await expect(team1.locator('.note:visible')).toHaveCount(0);

  // A second member of the team has it too, then loses the network and
  // keeps editing.
  const team2 = await device(browser, server.url);
  await signInByForm(team2, 'team2', 'team2-secret', 'Учитель Второй');
  await team2.goto(path);
  expect(await descriptions(team2)).toEqual(['Входная диагностика']);
  await expectSynced(team2);
  await team2.context().setOffline(true);
  await expect(syncStatus(team2)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  await addActivity(team2, 0, 'Правка без права');
  await expect(syncStatus(team2)).toContainText('не отправлено');

  // The municipal coordinator reads the school's roadmap: only reading.
  const muni = await device(browser, server.url);
  await signInByForm(muni, 'muni', 'muni-secret-1', 'Координатор Района');
  await muni.goto(path);
  expect(await descriptions(muni)).toEqual(['Входная диагностика']);
  await expect(muni.locator('.note:visible')).toHaveText(/^Только просмотр\./);
  await expect(description(muni, 0)).toBeDisabled();
  await expect(muni.getByRole('button', { name: '+ Раздел' })).toBeDisabled();

  // ...and, managing the school, limits the second team member to reading.
  await muni.getByRole('button', { name: 'Доступ' }).click();
  const panel = muni.locator('section.access');
  await expect(panel.getByLabel('Организация').locator('option:checked')).toContainText('Школа № 1');
  const grant = panel.getByRole('form', { name: 'Добавить особое право' });
  await grant.getByLabel('Человек').selectOption({ label: 'Учитель Второй (team2), Команда школы' });
  await grant.getByLabel('Право').selectOption({ label: 'просмотр' });
  await grant.getByRole('button', { name: 'Добавить' }).click();
  await expect(panel.getByLabel('Право: Учитель Второй (team2)')).toHaveValue('read');

  // Back online, the second member's edit is refused: the app says so and
  // keeps it on the device.
  await team2.context().setOffline(false);
  await expect(team2.locator('.note:not(.warn)')).toBeVisible({ timeout: 15_000 });
  await expect(team2.locator('.note:not(.warn)')).toHaveText(/^Только просмотр\./);
  await expect(team2.locator('.note.refused')).toBeVisible({ timeout: 15_000 });
  await expect(team2.locator('.note.refused')).toHaveText(
    /^Сервер не принял \d+ изменени[еяй]: у вас только просмотр этой дорожной карты\. Изменения сохранены на этом устройстве\.$/,
    { timeout: 15_000 },
  );
  await expect(syncStatus(team2)).toHaveAttribute('data-state', 'rejected');
  await expect(description(team2, 1)).toHaveValue('Правка без права');
  await expect(description(team2, 1)).toBeDisabled();
  await team2.reload();
  expect(await descriptions(team2)).toEqual(['Входная диагностика', 'Правка без права']);
  await expect(team2.locator('.note.refused')).toBeVisible({ timeout: 15_000 });

  // The server's copy, as everyone else gets it, does not have the edit.
  for (const page of [team1, muni]) {
    await page.reload();
    expect(await descriptions(page)).toEqual(['Входная диагностика']);
  }
  const fresh = await device(browser, server.url);
  await signInByForm(fresh, 'team1', 'team1-secret', 'Учитель Первый');
  await fresh.goto(path);
  expect(await descriptions(fresh)).toEqual(['Входная диагностика']);

  // Giving the right back lets the edit through.
  await muni.getByRole('button', { name: 'Доступ' }).click();
  await muni.locator('section.access').getByRole('button', { name: 'Вернуть по умолчанию' }).click();
  await expect(muni.locator('section.access').getByText('Нет: действуют права по умолчанию.')).toBeVisible();
  // Live, without a reload: the editor takes edits again and the edit goes.
  await expectSynced(team2);
  await expect(team2.locator('.note:visible')).toHaveCount(0, { timeout: 15_000 });
  await expect(description(team2, 1)).toBeEnabled();
  await expect(description(fresh, 1)).toHaveValue('Правка без права', { timeout: 15_000 });
  await team2.reload();
  await expectSynced(team2);
  await expect(team2.locator('.note:visible')).toHaveCount(0);
});

test('a person who may only read is not offered a rename, and can drop refused edits for the server\'s copy', async ({ browser, serve }) => {
  const server = await serve({
    units: [
      { id: 'r1', parent: 'rf', level: 'region', name: 'Каменская область' },
      { id: 'm1', parent: 'r1', level: 'municipality', name: 'Каменский район' },
      { id: 's1', parent: 'm1', level: 'school', name: 'Школа № 1' },
    ],
    people: [
      { login: 'team1', password: 'team1-secret', role: 'school-team', unit: 's1', name: 'Учитель Первый' },
      { login: 'team2', password: 'team2-secret', role: 'school-team', unit: 's1', name: 'Учитель Второй' },
      { login: 'muni', password: 'muni-secret-1', role: 'municipal-coordinator', unit: 'm1', name: 'Координатор Района' },
    ],
  });
  const team1 = await device(browser, server.url);
  await signInByForm(team1, 'team1', 'team1-secret', 'Учитель Первый');
  const path = await createRoadmap(team1, 'Школа № 1: дорожная карта');
  await addActivity(team1, 0, 'Входная диагностика');
  await expectSynced(team1);

  // The coordinator reads the school's roadmap; in his list it has no
  // «Переименовать» (the server would refuse it), but a copy and removing
  // it from his device stay.
  const muni = await device(browser, server.url);
  await signInByForm(muni, 'muni', 'muni-secret-1', 'Координатор Района');
  await muni.goto(path);
  await expect(muni.locator('.note:visible')).toHaveText(/^Только просмотр\./);
  await muni.goto('/');
  const item = muni.locator('li.roadmap-item', { hasText: 'Школа № 1: дорожная карта' });
  await expect(item.getByRole('button', { name: 'Дублировать' })).toBeVisible();
  await expect(item.getByRole('button', { name: 'Удалить' })).toBeVisible();
  await expect(item.getByRole('button', { name: 'Переименовать' })).toBeHidden();
  // The team member's own list still offers it.
  await team1.goto('/');
  await expect(team1.locator('li.roadmap-item').getByRole('button', { name: 'Переименовать' })).toBeVisible();

  // A team member edits offline, is limited to reading meanwhile, and the
  // server refuses the edit: she can drop it and take the server's copy.
  const team2 = await device(browser, server.url);
  await signInByForm(team2, 'team2', 'team2-secret', 'Учитель Второй');
  await team2.goto(path);
  expect(await descriptions(team2)).toEqual(['Входная диагностика']);
  await expectSynced(team2);
  await team2.context().setOffline(true);
  await expect(syncStatus(team2)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  await addActivity(team2, 0, 'Правка без права');
  await muni.goto(path);
  await muni.getByRole('button', { name: 'Доступ' }).click();
  const grant = muni.locator('section.access').getByRole('form', { name: 'Добавить особое право' });
  await grant.getByLabel('Человек').selectOption({ label: 'Учитель Второй (team2), Команда школы' });
  await grant.getByLabel('Право').selectOption({ label: 'просмотр' });
  await grant.getByRole('button', { name: 'Добавить' }).click();
  await expect(muni.locator('section.access').getByLabel('Право: Учитель Второй (team2)')).toHaveValue('read');
  await team2.context().setOffline(false);
  await expect(team2.locator('.note.refused')).toBeVisible({ timeout: 15_000 });
  await expect(syncStatus(team2)).toHaveAttribute('data-state', 'rejected');

  await team2.getByRole('button', { name: 'Вернуть копию с сервера' }).click();
  const dialog = team2.getByRole('alertdialog', { name: 'Вернуть копию с сервера' });
  await expect(dialog).toContainText('будут удалены с этого устройства');
  await dialog.getByRole('button', { name: 'Удалить непринятые и вернуть копию с сервера' }).click();
  await expect(team2.locator('.note.refused')).toBeHidden({ timeout: 15_000 });
  await expect.poll(() => descriptions(team2), { timeout: 15_000 }).toEqual(['Входная диагностика']);
  await expectSynced(team2);
  await expect(team2.locator('.note:visible')).toHaveText(/^Только просмотр\./);
  // For good: a reload brings back neither the edit nor the refusal.
  await team2.reload();
  expect(await descriptions(team2)).toEqual(['Входная диагностика']);
  await expectSynced(team2);
  await expect(team2.locator('.note.refused')).toBeHidden();
});

test('a session ended while the device was away: edits wait on the device until the person signs in again', async ({ browser, serve }) => {
  const person = { login: 'reg', password: 'regional-old-1', name: 'Сидорова Мария Петровна' };
  const server = await serve({
    units: [{ id: 'r1', parent: 'rf', level: 'region', name: 'Каменская область' }],
    people: [{ ...person, role: 'regional-coordinator', unit: 'r1' }],
  });
  const tablet = await device(browser, server.url);
  await signInByForm(tablet, person.login, person.password, person.name);
  const path = await createRoadmap(tablet, 'Региональная дорожная карта', 'regional');
  await addActivity(tablet, 0, 'Семинар для кураторов');
  await expectSynced(tablet);
  await waitForOfflineReady(tablet);

  // No server: the app opens with the session it had and takes edits.
  await server.kill('SIGKILL');
  await tablet.reload();
  await expect(tablet.locator('.account-name')).toHaveText(person.name);
  expect(await descriptions(tablet)).toEqual(['Семинар для кураторов']);
  await addActivity(tablet, 0, 'Записано без сети');
  await expect(syncStatus(tablet)).toContainText('не отправлено');
  await expect(tablet.locator('.banner')).toBeHidden();

  // Meanwhile (the tablet still away) the person changes their password
  // elsewhere, which ends the tablet's session.
  await tablet.context().setOffline(true);
  await server.restart();
  const laptop = await device(browser, server.url);
  await signInByForm(laptop, person.login, person.password, person.name);
  await laptop.goto('/password');
  await laptop.getByLabel('Текущий пароль').fill(person.password);
  await laptop.getByLabel('Новый пароль', { exact: true }).fill('regional-new-1');
  await laptop.getByLabel('Новый пароль ещё раз').fill('regional-new-1');
  await laptop.getByRole('button', { name: 'Сменить пароль' }).click();
  await expect(laptop.locator('.notice')).toContainText('Пароль изменён');
  await laptop.goto(path);
  expect(await descriptions(laptop)).toEqual(['Семинар для кураторов']);

  // The tablet is back: the session has expired, the edit is still there
  // and not on the server.
  await tablet.context().setOffline(false);
  await expect(tablet.locator('.banner')).toBeVisible({ timeout: 15_000 });
  await expect(tablet.locator('.banner')).toContainText(
    'Сеанс истёк. Войдите снова — изменения, не отправленные на сервер, сохранены на этом устройстве.',
    { timeout: 15_000 },
  );
  await expect(syncStatus(tablet)).toHaveAttribute('data-state', 'expired');
  await expect(syncStatus(tablet)).toContainText('Сеанс истёк');
  expect(await descriptions(tablet)).toEqual(['Семинар для кураторов', 'Записано без сети']);
  await laptop.reload();
  expect(await descriptions(laptop)).toEqual(['Семинар для кураторов']);

  // Signing in again sends the edit; the other device gets it.
  await tablet.locator('.banner').getByRole('link', { name: 'Войти' }).click();
  await expect(tablet.getByRole('form', { name: 'Вход' }).getByLabel('Логин')).toHaveValue(person.login);
  await signInByForm(tablet, person.login, 'regional-new-1', person.name);
  await expect(tablet).toHaveURL(`${server.url}${path}`);
  await editorLoaded(tablet);
  await expectSynced(tablet);
  await expect(tablet.locator('.banner')).toBeHidden();
  await expect(description(laptop, 1)).toHaveValue('Записано без сети', { timeout: 15_000 });
});

test('a session ended elsewhere shows at once; signing out stops the sync and keeps the roadmaps here', async ({ browser, serve }) => {
  const server = await serve({ people: [FEDERAL] });
  const desk = await device(browser, server.url);
  await signInByForm(desk, FEDERAL.login, FEDERAL.password, FEDERAL.name);
  const path = await createRoadmap(desk, 'Федеральная дорожная карта', 'federal');
  await addActivity(desk, 0, 'Совещание с регионами');
  await expectSynced(desk);

  // The password is changed on another device while this one is connected.
  const phone = await device(browser, server.url);
  await signInByForm(phone, FEDERAL.login, FEDERAL.password, FEDERAL.name);
  await phone.goto('/password');
  await phone.getByLabel('Текущий пароль').fill(FEDERAL.password);
  await phone.getByLabel('Новый пароль', { exact: true }).fill('federal-secret-2');
  await phone.getByLabel('Новый пароль ещё раз').fill('federal-secret-2');
  await phone.getByRole('button', { name: 'Сменить пароль' }).click();
  await expect(desk.locator('.banner')).toBeVisible({ timeout: 10_000 });
  await expect(syncStatus(desk)).toHaveAttribute('data-state', 'expired');

  await desk.locator('.banner').getByRole('link', { name: 'Войти' }).click();
  await signInByForm(desk, FEDERAL.login, 'federal-secret-2', FEDERAL.name);
  await expect(desk).toHaveURL(`${server.url}${path}`);
  await expectSynced(desk);

  // Signing out: the roadmap stays here and takes edits; they stay here.
  await desk.locator('.account .topbar-button').click();
  await desk.getByRole('button', { name: 'Выйти' }).click();
  await expect(desk.getByRole('link', { name: 'Войти' })).toBeVisible();
  await expect(syncStatus(desk)).toHaveAttribute('data-state', 'signed-out');
  await addActivity(desk, 0, 'Только на этом устройстве');
  await expect(syncStatus(desk)).toContainText('Вход не выполнен · не отправлено');
  await desk.reload();
  expect(await descriptions(desk)).toEqual(['Совещание с регионами', 'Только на этом устройстве']);
  await expect(syncStatus(desk)).toHaveAttribute('data-state', 'signed-out');
  await phone.goto(path);
  expect(await descriptions(phone)).toEqual(['Совещание с регионами']);
  await desk.goto('/');
  await expect(desk.locator('.roadmap-item', { hasText: 'Федеральная дорожная карта' })).toBeVisible();
});

test('a coordinator deletes a roadmap for everyone: other devices say so and keep only their copy', async ({ browser, serve }) => {
  const server = await serve({
    units: [
      { id: 'r1', parent: 'rf', level: 'region', name: 'Каменская область' },
      { id: 'm1', parent: 'r1', level: 'municipality', name: 'Каменский район' },
      { id: 's1', parent: 'm1', level: 'school', name: 'Школа № 1' },
    ],
    people: [
      { login: 'team1', password: 'team1-secret', role: 'school-team', unit: 's1', name: 'Учитель Первый' },
      { login: 'muni', password: 'muni-secret-1', role: 'municipal-coordinator', unit: 'm1', name: 'Координатор Района' },
    ],
  });
  const team = await device(browser, server.url);
  await signInByForm(team, 'team1', 'team1-secret', 'Учитель Первый');
  const path = await createRoadmap(team, 'Удаляемая карта');
  await addActivity(team, 0, 'Мероприятие');
  await expectSynced(team);
  await expect(team.getByRole('button', { name: 'Доступ' })).toBeHidden();

  const muni = await device(browser, server.url);
  await signInByForm(muni, 'muni', 'muni-secret-1', 'Координатор Района');
  await muni.goto(path);
  expect(await descriptions(muni)).toEqual(['Мероприятие']);
  await muni.getByRole('button', { name: 'Доступ' }).click();
  const panel = muni.locator('section.access');
  await panel.getByRole('button', { name: 'Удалить для всех…' }).click();
  const confirm = panel.getByRole('alertdialog', { name: 'Подтверждение удаления для всех' });
  await expect(confirm).toContainText('Это нельзя отменить.');
  await confirm.getByRole('button', { name: 'Да, удалить для всех' }).click();
  await expect(muni).toHaveURL(`${server.url}/`);
  await expect(muni.locator('.roadmap-item')).toHaveCount(0);

  // The school's device has it open: it learns the roadmap is gone for
  // everyone (not "no access"), keeps its copy, and may remove it.
  await expect(team.locator('.note.gone')).toBeVisible({ timeout: 15_000 });
  // When and by whom, in the server's words.
  const said = /^Дорожная карта удалена для всех \d\d\.\d\d\.\d{4} в \d\d:\d\d по московскому времени, удалил\(а\): Координатор Района\./;
  await expect(team.locator('.note.gone')).toHaveText(said);
  await expect(team.locator('.note.gone')).toContainText('Её копия осталась только на этом устройстве');
  expect(await descriptions(team)).toEqual(['Мероприятие']);
  // The top bar says what is left on the device, not that the server
  // refuses changes.
  await expect(syncStatus(team)).toHaveText('Остальное сохранено на сервере · удалены для всех: 1');
  await team.goto('/');
  const item = team.locator('.roadmap-item', { hasText: 'Удаляемая карта' });
  await expect(item.locator('.gone')).toHaveText(said);
  await expect(item.locator('.gone')).toContainText('Копия осталась только на этом устройстве.');
  await team.reload();
  await expect(item.locator('.gone')).toBeVisible();
  await item.getByRole('button', { name: 'Удалить' }).click();
  await item.getByRole('button', { name: 'Да, удалить' }).click();
  await expect(team.locator('.roadmap-item', { hasText: 'Удаляемая карта' })).toHaveCount(0, { timeout: 15_000 });
  // Once the copy is gone (after the few seconds its deletion may be undone).
  await expect(syncStatus(team)).toHaveText('Всё сохранено на сервере', { timeout: 20_000 });
});
