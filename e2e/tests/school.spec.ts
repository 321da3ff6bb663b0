// The school screen (`/s/<unit>`) against a real medk-server: a document
// filed by the school, returned with remarks by its curator, fixed and
// confirmed, its first version still downloadable from the review log (by
// those who read the school only); a curator's visit recorded offline, seen on another device
// and on the municipal coordinator's dashboard; a file over 25 MiB
// refused; the participants table after a coordinator assigns people; and
// the screen at the two tablet sizes (screenshots kept in test-results/).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { waitForOfflineReady } from '../support/app';
import { listRecords, spoilChunks, storedPieces } from '../support/device';
import { expect, expectSynced, signedIn, syncStatus, test } from '../support/accounts';

const UNITS = [
  { id: 'r1', parent: 'rf', level: 'region' as const, name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality' as const, name: 'Каменский район' },
  { id: 's1', parent: 'm1', level: 'school' as const, name: 'Школа № 1' },
];
const TEAM = { login: 'team', password: 'team-secret-1', role: 'school-team', unit: 's1', name: 'Учитель Школы' };
const CURATOR = {
  login: 'curator',
  password: 'curator-secret-1',
  role: 'curator',
  unit: 'r1',
  schools: ['s1'],
  name: 'Куратор Иванова',
};
const NEW_CURATOR = { login: 'curator2', password: 'curator-secret-2', role: 'curator', unit: 'r1', name: 'Куратор Новиков' };
const MUNI = { login: 'muni', password: 'muni-secret-1', role: 'municipal-coordinator', unit: 'm1', name: 'Координатор Петрова' };
const REGIONAL = { login: 'regional', password: 'regional-secret-1', role: 'regional-coordinator', unit: 'r1', name: 'Координатор Области' };
const PEOPLE = [TEAM, CURATOR, NEW_CURATOR, MUNI, REGIONAL];

/** Opens the school's screen and waits for its file. */
async function openSchool(page: Page) {
  await page.goto('/s/s1');
  await expect(page.locator('.school-page[data-loaded=true]')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Школа № 1');
}

function concept(page: Page) {
  return page.locator('article.filed[data-kind=concept]');
}

async function attach(page: Page, name: string, text: string) {
  await concept(page).locator('input[type=file]').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });
}

test('a document returned with remarks is fixed by the school and confirmed by the curator', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  const team = await signedIn(browser, server.url, TEAM);
  await openSchool(team);
  await expect(concept(team).locator('.doc-state')).toHaveText('Не подан');
  // The school team files; it does not judge.
  await attach(team, 'Концепция.txt', 'Концепция развития, версия 1');
  await expect(concept(team).locator('.doc-state')).toHaveText('Подан на проверку');
  await expect(concept(team).locator('.file-name')).toHaveText('Концепция.txt');
  await expect(concept(team).locator('.upload-state')).toHaveText('Отправлен на сервер', { timeout: 15_000 });
  await expect(concept(team).getByRole('button', { name: 'Подтвердить' })).toBeHidden();

  const curator = await signedIn(browser, server.url, CURATOR);
  await openSchool(curator);
  await expect(concept(curator).locator('.doc-state')).toHaveText('Подан на проверку', { timeout: 15_000 });
  await concept(curator).getByRole('button', { name: 'Вернуть на доработку' }).click();
  const back = concept(curator).getByRole('form', { name: 'Вернуть на доработку' });
  await back.getByLabel('Замечания').fill('Добавьте цели на 2022 год');
  await back.getByRole('button', { name: 'Вернуть с замечаниями' }).click();
  await expect(concept(curator).locator('.doc-state')).toHaveText('Возвращён на доработку');

  // The school sees it returned, with the remarks, and attaches a fix.
  await expect(concept(team).locator('.doc-state')).toHaveText('Возвращён на доработку', { timeout: 15_000 });
  await expect(concept(team).locator('.review-log')).toContainText('Добавьте цели на 2022 год');
  await attach(team, 'Концепция-2.txt', 'Концепция развития, версия 2 с целями на 2022 год');
  await expect(concept(team).locator('.doc-state')).toHaveText('Подан на проверку');
  await expect(concept(team).locator('.upload-state')).toHaveText('Отправлен на сервер', { timeout: 15_000 });

  await expect(concept(curator).locator('.file-name')).toHaveText('Концепция-2.txt', { timeout: 15_000 });
  await concept(curator).getByRole('button', { name: 'Подтвердить' }).click();
  await expect(concept(curator).locator('.doc-state')).toHaveText('Подтверждён');
  await expect(concept(team).locator('.doc-state')).toHaveText('Подтверждён', { timeout: 15_000 });

  // Both see the whole log, in order, with who decided.
  for (const page of [team, curator]) {
    const rows = concept(page).locator('.review-log tbody tr');
    await expect(rows).toHaveCount(4);
    await expect(rows.nth(0)).toContainText('Подан на проверку');
    await expect(rows.nth(0)).toContainText('Учитель Школы');
    await expect(rows.nth(0)).toContainText('предыдущая версия файла');
    await expect(rows.nth(1)).toContainText('Возвращён на доработку');
    await expect(rows.nth(1)).toContainText('Добавьте цели на 2022 год');
    await expect(rows.nth(1)).toContainText('Куратор Иванова');
    await expect(rows.nth(2)).toContainText('Подан на проверку');
    await expect(rows.nth(3)).toContainText('Подтверждён');
    await expect(rows.nth(3)).toContainText('Куратор Иванова');
    await expect(rows.nth(3).locator('td[data-label="Когда"]')).toHaveText(/^\d\d\.\d\d\.\d{4} \d\d:\d\d$/);
  }

  // The curator gets the confirmed file's bytes from the server.
  const download = curator.waitForEvent('download');
  await concept(curator).getByRole('button', { name: 'Скачать', exact: true }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('Концепция-2.txt');
  expect(readFileSync((await file.path())!).toString()).toBe('Концепция развития, версия 2 с целями на 2022 год');

  // The log names the first version, and its entries download it (issue
  // 18, item 9), on the school's device as on the curator's.
  for (const page of [team, curator]) {
    const returned = concept(page).locator('.review-log tbody tr').nth(1);
    await expect(returned.locator('td[data-label="Файл"]')).toContainText('Концепция.txt');
    const earlier = page.waitForEvent('download');
    await returned.getByRole('button', { name: /^Скачать «Концепция\.txt» \(Возвращён на доработку/ }).click();
    const old = await earlier;
    expect(old.suggestedFilename()).toBe('Концепция.txt');
    expect(readFileSync((await old.path())!).toString()).toBe('Концепция развития, версия 1');
  }
  await expect(concept(curator).locator('.review-log tbody tr').nth(3).locator('td[data-label="Файл"]')).toContainText('Концепция-2.txt');
  // The same rights as for the current file: a curator of other schools
  // is not given the earlier version by the server.
  const address = `sha256:${createHash('sha256').update('Концепция развития, версия 1').digest('hex')}`;
  const outsider = await signedIn(browser, server.url, NEW_CURATOR);
  expect((await outsider.request.get(`/api/blobs/${address}?unit=s1`)).status()).toBe(404);
  expect((await curator.request.get(`/api/blobs/${address}?unit=s1`)).status()).toBe(200);
});

test('a visit recorded offline survives a reload and reaches another device once online', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  const curator = await signedIn(browser, server.url, CURATOR);
  await openSchool(curator);
  await expect(curator.locator('.visit-warning')).toHaveText('Ещё не посещали (по графику — раз в 7 дней)');
  await expectSynced(curator);
  await waitForOfflineReady(curator);

  await curator.context().setOffline(true);
  await expect(syncStatus(curator)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  await curator.getByRole('button', { name: 'Новое посещение' }).click();
  const form = curator.getByRole('form', { name: 'Новое посещение' });
  const today = await form.getByLabel('Дата').inputValue();
  expect(today).toMatch(/^\d{4}-\d\d-\d\d$/);
  await form.getByLabel('Цель посещения').fill('Первичное посещение, верификация РПШ');
  await form.getByLabel('С кем встречались').fill('Директор, завуч');
  await form.getByLabel('Выводы').fill('Риски подтверждены');
  await form.getByLabel('Рекомендации').fill('Составить антирисковые программы');
  await form.getByLabel('Оценка результатов по дорожной карте школы').fill('Дорожная карта в работе');
  await form.getByRole('button', { name: 'Сохранить посещение' }).click();
  const visit = curator.locator('.visit-list .visit');
  await expect(visit).toHaveCount(1);
  await expect(visit).toContainText('Первичное посещение, верификация РПШ');
  await expect(visit).toContainText('Куратор Иванова');
  await expect(curator.locator('.visit-warning')).toBeHidden();
  // The survey for the risk profile is marked at the school too.
  const survey = (page: Page) => page.locator('.school-survey .survey-state');
  await curator.locator('.school-survey').getByLabel('Дата завершения').fill('2021-02-15');
  await curator.getByRole('button', { name: 'Отметить завершённым' }).click();
  const surveyed = `завершено 15.02.2021 (отметил(а): ${CURATOR.name})`;
  await expect(survey(curator)).toHaveText(surveyed);

  // Still offline: the tab is reloaded and the visit and the survey are there.
  await curator.reload();
  await expect(curator.locator('.school-page[data-loaded=true]')).toBeVisible();
  await expect(curator.locator('.visit-list .visit')).toContainText('Составить антирисковые программы');
  await expect(survey(curator)).toHaveText(surveyed);

  const team = await signedIn(browser, server.url, TEAM);
  await openSchool(team);
  await expect(team.locator('.visit-list .visit')).toHaveCount(0);
  await expect(survey(team)).toHaveText('не завершено');
  await curator.context().setOffline(false);
  await expectSynced(curator);
  const arrived = team.locator('.visit-list .visit');
  await expect(arrived).toHaveCount(1, { timeout: 15_000 });
  await expect(arrived).toContainText('Директор, завуч');
  await expect(arrived).toContainText('Дорожная карта в работе');
  await expect(survey(team)).toHaveText(surveyed);
  await expect(team.locator('.visit-warning')).toBeHidden();
  // Visits are the curator's record: the school reads them, and is told who writes them.
  await expect(team.getByRole('button', { name: 'Новое посещение' })).toBeHidden();
  await expect(arrived.getByRole('button', { name: 'Изменить' })).toBeHidden();
  await expect(team.locator('.visits-who')).toHaveText('Посещения записывают куратор и координаторы.');
  await expect(curator.locator('.visits-who')).toBeHidden();
});

test('a school file whose copy breaks offline says so instead of showing an empty school, and comes back from the server', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  const curator = await signedIn(browser, server.url, CURATOR);
  await openSchool(curator);
  await curator.getByRole('button', { name: 'Новое посещение' }).click();
  const form = curator.getByRole('form', { name: 'Новое посещение' });
  await form.getByLabel('Цель посещения').fill('Посещение до поломки');
  await form.getByRole('button', { name: 'Сохранить посещение' }).click();
  await expect(curator.locator('.visit-list .visit')).toHaveCount(1);
  await expectSynced(curator);
  await waitForOfflineReady(curator);

  // Offline, a broken disk spoils every stored piece of the school's file.
  await curator.context().setOffline(true);
  await expect(syncStatus(curator)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  await curator.goto('/icon.svg');
  const school = (await listRecords(curator)).find((r) => r.kind === 'school' && r.title === 's1');
  const pieces = await storedPieces(curator, school.id);
  expect(pieces.length).toBeGreaterThan(0);
  await spoilChunks(curator, pieces.map((p) => p.key));

  // The screen says the copy cannot be read, offers the server's, and does
  // not pretend the school has no curator or visits; the indicator counts it.
  await curator.goto('/s/s1');
  const alert = curator.getByRole('alert').filter({ hasText: 'Не удалось открыть файл школы' });
  await expect(alert).toContainText('повреждена');
  await expect(curator.getByRole('button', { name: 'Загрузить с сервера заново' })).toBeVisible();
  await expect(curator.getByText('Ещё не посещали')).toBeHidden();
  await expect(curator.locator('.visit-list')).toBeHidden();
  await expect(syncStatus(curator)).toContainText('не читаются на устройстве: 1');

  // Online, the server's copy comes back, named by the school.
  await curator.context().setOffline(false);
  await expect(curator.locator('.notice')).toContainText('Файл школы «Школа № 1»', { timeout: 20_000 });
  await expect(curator.locator('.notice')).not.toContainText('s1');
  await expect(curator.locator('.school-page[data-loaded=true]')).toBeVisible({ timeout: 20_000 });
  await expect(curator.locator('.visit-list .visit')).toContainText('Посещение до поломки', { timeout: 15_000 });
  await expectSynced(curator);
});

test('a visit recorded offline reaches the coordinator\'s dashboard after reconnect', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  // The municipal coordinator watches her dashboard: nobody has visited yet.
  const muni = await signedIn(browser, server.url, MUNI);
  await muni.goto('/monitoring');
  await expect(muni.getByRole('heading', { level: 1 })).toHaveText('Мониторинг: Каменский район');
  const visited = muni.locator('table.dash-federal tr', { hasText: 'посещённых кураторами' });
  const school = muni.locator('table.dash-schools tbody tr', { hasText: 'Школа № 1' });
  await expect(visited).toContainText('0 из 1');
  await expect(school).toContainText('Ещё не посещали');

  // The curator, offline at the school, records a visit today.
  const curator = await signedIn(browser, server.url, CURATOR);
  await openSchool(curator);
  await waitForOfflineReady(curator);
  await curator.context().setOffline(true);
  await expect(syncStatus(curator)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  await curator.getByRole('button', { name: 'Новое посещение' }).click();
  const form = curator.getByRole('form', { name: 'Новое посещение' });
  await form.getByLabel('Цель посещения').fill('Верификация рискового профиля');
  await form.getByRole('button', { name: 'Сохранить посещение' }).click();
  await expect(curator.locator('.visit-list .visit')).toHaveCount(1);
  // Nothing can reach the coordinator while the curator is offline.
  await curator.waitForTimeout(1_000);
  await expect(visited).toContainText('0 из 1');

  // Back in signal: the visit goes up and her open dashboard counts it.
  await curator.context().setOffline(false);
  await expectSynced(curator);
  await expect(visited).toContainText('1 из 1', { timeout: 15_000 });
  await expect(school).not.toContainText('Ещё не посещали');
});

test('an anti-risk programme a coordinator creates offline belongs to the school, and its team works in it', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  // The municipal coordinator: the relay would file a roadmap she makes
  // under her municipality, where the school's team cannot see it. She is
  // at the school without signal.
  const muni = await signedIn(browser, server.url, MUNI);
  await openSchool(muni);
  await waitForOfflineReady(muni);
  await muni.context().setOffline(true);
  await expect(syncStatus(muni)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  const risk = muni.locator('.risks .risk').first();
  const factor = (await risk.locator('legend').textContent())!.trim();
  await risk.getByLabel('Актуален для школы').check();
  await risk.getByRole('button', { name: 'Создать программу' }).click();
  const open = risk.getByRole('link', { name: /^Открыть программу/ });
  await expect(open).toContainText(`Антирисковая программа: ${factor}`);
  // The tab is reloaded before there is signal again: the programme, and
  // where it belongs, are still there.
  await muni.reload();
  await expect(muni.locator('.school-page[data-loaded=true]')).toBeVisible();
  await expect(muni.locator('.risks .risk', { hasText: factor }).getByRole('link', { name: /^Открыть программу/ })).toBeVisible();
  await muni.context().setOffline(false);
  await expectSynced(muni);

  // The school's team, on its own device, opens it from the school's page
  // and may write in it: it is the school's roadmap, not the municipality's.
  const team = await signedIn(browser, server.url, TEAM);
  await openSchool(team);
  const link = team.locator('.risks .risk', { hasText: factor }).getByRole('link', { name: /^Открыть программу/ });
  await expect(link).toBeVisible({ timeout: 15_000 });
  await link.click();
  const title = team.getByLabel('Название дорожной карты');
  await expect(title).toHaveValue(`Антирисковая программа: ${factor}`, { timeout: 15_000 });
  await expect(title).toBeEditable();
  await title.fill(`Антирисковая программа школы: ${factor}`);
  await expectSynced(team);
});

test('a file over 25 MiB is refused and nothing is recorded', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  const team = await signedIn(browser, server.url, TEAM);
  await openSchool(team);
  await concept(team)
    .locator('input[type=file]')
    .setInputFiles({ name: 'big.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(25 * 1024 * 1024 + 1, 7) });
  await expect(concept(team).getByRole('alert')).toContainText('Файл больше 25 МБ');
  await expect(concept(team).locator('.doc-state')).toHaveText('Не подан');
  await expect(concept(team).locator('.file-name')).toHaveCount(0);
  await expect(concept(team).locator('.review-log')).toBeHidden();
  await expect(concept(team).locator('.upload-state')).toHaveCount(0);
  // Exactly 25 MiB is still taken.
  await concept(team)
    .locator('input[type=file]')
    .setInputFiles({ name: 'limit.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(25 * 1024 * 1024, 7) });
  await expect(concept(team).locator('.doc-state')).toHaveText('Подан на проверку', { timeout: 20_000 });
  await expect(concept(team).getByRole('alert')).toHaveCount(0);
});

test("a file past the school's quota: online it is refused before anything is filed; attached offline, the server's reason is shown later", async ({ browser, serve }) => {
  // A school may keep 1 MiB of files here.
  const server = await serve({ units: UNITS, people: PEOPLE, args: ['--unit-quota-mib', '1'] });
  const team = await signedIn(browser, server.url, TEAM);
  await openSchool(team);
  const scan = { name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(1536 * 1024, 7) };
  // Online: the server's refusal comes first; nothing is filed, nothing logged.
  await concept(team).locator('input[type=file]').setInputFiles(scan);
  const alert = concept(team).getByRole('alert');
  await expect(alert).toContainText('Сервер не принял файл: превышен объём файлов организации «Школа № 1» на сервере: занято 0,0 МБ из 1,0 МБ');
  await expect(alert).toHaveText(/[^.]\. Документ не подан\.$/);
  await expect(concept(team).locator('.doc-state')).toHaveText('Не подан');
  await expect(concept(team).locator('.file-name')).toHaveCount(0);
  await expect(concept(team).locator('.review-log')).toBeHidden();
  await expect(concept(team).locator('.upload-state')).toHaveCount(0);
  await expect(team.locator('.notices')).not.toContainText('Файл приложен');
  await expect(syncStatus(team)).toHaveText('Всё сохранено на сервере');
  // Offline (at a school without signal): kept on the device and filed; once
  // online the server refuses the bytes and says why.
  await team.context().setOffline(true);
  await concept(team).locator('input[type=file]').setInputFiles(scan);
  await expect(team.locator('.notices')).toContainText('Он отправится на сервер, когда появится связь');
  await expect(concept(team).locator('.doc-state')).toHaveText('Подан на проверку');
  await team.context().setOffline(false);
  const state = concept(team).locator('.upload-state');
  await expect(state).toHaveAttribute('data-state', 'refused', { timeout: 15_000 });
  await expect(state).toContainText('Сервер не принял файл: превышен объём файлов организации «Школа № 1» на сервере: занято 0,0 МБ из 1,0 МБ');
  await expect(state.getByRole('button', { name: 'Повторить' })).toBeVisible();
  // The top bar does not say all is saved while the file is not on the server.
  await expect(syncStatus(team)).toHaveText('Сервер не принял файлов: 1');
  // The filing reaches the curator, but a file the server does not have
  // cannot be confirmed: nobody can open it.
  const curator = await signedIn(browser, server.url, CURATOR);
  await openSchool(curator);
  await expect(concept(curator).locator('.doc-state')).toHaveText('Подан на проверку', { timeout: 15_000 });
  await expect(concept(curator).locator('.not-confirmable')).toHaveText(
    'Файла нет на сервере: его нельзя скачать и подтвердить. Подтвердить можно, когда школа отправит его (или приложит снова).',
  );
  await expect(concept(curator).getByRole('button', { name: 'Подтвердить' })).toBeDisabled();
});

test('the participants table lists the school with the curator a coordinator assigned', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  const regional = await signedIn(browser, server.url, REGIONAL);
  await regional.locator('.account .topbar-button').click();
  await regional.locator('#account-panel').getByRole('link', { name: 'Школы', exact: true }).click();
  await expect(regional).toHaveURL(/\/schools$/);
  const row = regional.locator('.participants-table tr[data-unit=s1]');
  await expect(row).toContainText('Школа № 1');
  await expect(row).toContainText('Каменский район');
  // The administrator made the first curator with `--school s1`: the file says so.
  await expect(row.locator('td[data-label="Куратор"]')).toHaveText(CURATOR.name);
  await expect(row.locator('td[data-label="Посещения"]')).toHaveText('Ещё не посещали (по графику — раз в 7 дней)');

  await row.getByRole('link', { name: 'Школа № 1' }).click();
  await expect(regional).toHaveURL(/\/s\/s1$/);
  await expect(regional.locator('.school-page[data-loaded=true]')).toBeVisible();
  await regional.getByRole('button', { name: 'Изменить участников' }).click();
  const form = regional.getByRole('form', { name: 'Участники школы' });
  await form.getByLabel('Куратор').selectOption({ label: NEW_CURATOR.name });
  await form.getByLabel('Муниципальный координатор').selectOption({ label: MUNI.name });
  await form.getByRole('button', { name: 'Сохранить участников' }).click();
  await expect(regional.locator('.participants .curator')).toHaveText(NEW_CURATOR.name);
  await expect(regional.locator('.participants .coordinator')).toHaveText(MUNI.name);

  // Assigning the curator gave them the school on the server too.
  await expect
    .poll(async () => {
      const res = await regional.context().request.get(`${server.url}/api/people`);
      const people = (await res.json()).people as { login: string; schools: string[] }[];
      return people.find((p) => p.login === NEW_CURATOR.login)?.schools;
    })
    .toEqual(['s1']);

  await regional.goto('/schools');
  await expect(row.locator('td[data-label="Куратор"]')).toHaveText(NEW_CURATOR.name);
  await expect(row.locator('td[data-label="Муниципальный координатор"]')).toHaveText(MUNI.name);
  await expect(row.locator('td[data-label="Этап"]')).toHaveText('формирование дорожной карты');

  // The new curator sees the school in their own table, after syncing.
  const curator = await signedIn(browser, server.url, NEW_CURATOR);
  await curator.goto('/schools');
  await expect(curator.locator('.participants-table tr[data-unit=s1] td[data-label="Куратор"]')).toHaveText(
    NEW_CURATOR.name,
    { timeout: 15_000 },
  );
});

for (const size of [
  { width: 1024, height: 768 },
  { width: 800, height: 1280 },
]) {
  test(`the school screen fits a ${size.width}×${size.height} tablet`, async ({ browser, serve }, info) => {
    const server = await serve({ units: UNITS, people: PEOPLE });
    const curator = await signedIn(browser, server.url, CURATOR);
    await curator.setViewportSize(size);
    await openSchool(curator);
    const survey = curator.locator('.school-survey');
    await survey.getByLabel('Дата завершения').fill('2021-02-15');
    await survey.getByRole('button', { name: 'Отметить завершённым' }).click();
    await expect(survey.locator('.survey-state')).toHaveText(`завершено 15.02.2021 (отметил(а): ${CURATOR.name})`);

    const shot = info.outputPath(`school-${size.width}x${size.height}.png`);
    await curator.screenshot({ path: shot, fullPage: true });
    await info.attach('screenshot', { path: shot, contentType: 'image/png' });

    // Nothing runs off the side, and what a curator reaches for first is on screen.
    const overflow = await curator.evaluate(() => {
      // The screen scrolls inside `main` (style.css), the page never.
      const main = document.getElementById('main')!;
      return Math.max(main.scrollWidth - main.clientWidth, document.documentElement.scrollWidth - window.innerWidth);
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await expect(curator.getByRole('combobox', { name: 'Этап', exact: true })).toBeInViewport();
    await expect(survey.getByRole('button', { name: 'Снять отметку' })).toBeInViewport();
    // Touch targets are at least 40px high.
    const heights = await curator
      .locator(
        [
          '.school-page button:visible',
          '.school-page select:visible',
          '.school-page input:not([type=file]):not([type=checkbox]):visible',
          '.school-page label.check:visible',
          '.school-page label.file-button:visible',
        ].join(', '),
      )
      .evaluateAll((els) => els.map((e) => [e.textContent?.trim() || e.getAttribute('aria-label') || e.tagName, e.getBoundingClientRect().height] as const));
    for (const [what, h] of heights) expect(h, String(what)).toBeGreaterThanOrEqual(40);
  });
}

test('a risk factor\'s note is kept as it is typed: a tab closed before the field loses focus keeps it', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  const curator = await signedIn(browser, server.url, CURATOR);
  await openSchool(curator);
  const risk = curator.locator('.risks .risk').first();
  await risk.getByLabel('Актуален для школы').check();
  const note = risk.getByLabel('Примечание');
  await note.click();
  await note.pressSequentially('Выявлено на посещении: 38% с рисками неуспешности');
  // No blur: the tab is reloaded while the caret is still in the field.
  await curator.reload();
  await expect(curator.locator('.school-page[data-loaded=true]')).toBeVisible();
  await expect(curator.locator('.risks .risk').first().getByLabel('Примечание')).toHaveValue(
    'Выявлено на посещении: 38% с рисками неуспешности',
  );
  await expectSynced(curator);
  const team = await signedIn(browser, server.url, TEAM);
  await openSchool(team);
  await expect(team.locator('.risks .risk').first()).toContainText('Выявлено на посещении: 38% с рисками неуспешности', { timeout: 15_000 });
});
