// One curator assignment (issue 18, item 1): a municipal coordinator gives
// a curator a school in «Люди и доступ», and the school screen, the
// dashboard and the rights all follow it; naming another curator on the
// school screen moves the school (and its rights) from the first to the
// second, as «Люди и доступ» then shows.
import type { Page } from '@playwright/test';
import { device, expect, signedIn, test } from '../support/accounts';

const UNITS = [
  { id: 'r1', parent: 'rf', level: 'region' as const, name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality' as const, name: 'Каменский район' },
  { id: 's1', parent: 'm1', level: 'school' as const, name: 'Школа № 1' },
  { id: 's2', parent: 'm1', level: 'school' as const, name: 'Школа № 2' },
];
const MUNI = { login: 'muni', password: 'muni-secret-1', role: 'municipal-coordinator', unit: 'm1', name: 'Координатор Петрова' };
const FIRST = { login: 'curator1', password: 'curator-secret-1', role: 'curator', unit: 'm1', name: 'Куратор Иванова' };
const SECOND = { login: 'curator2', password: 'curator-secret-2', role: 'curator', unit: 'm1', name: 'Куратор Новиков' };

async function openSchool(page: Page) {
  await page.goto('/s/s1');
  await expect(page.locator('.school-page[data-loaded=true]')).toBeVisible();
}

/** A curator's schools as the server keeps them (what gives the rights). */
async function schoolsOnServer(page: Page, login: string, url: string) {
  const res = await page.context().request.get(`${url}/api/people`);
  const people = (await res.json()).people as { login: string; schools: string[] }[];
  return people.find((p) => p.login === login)?.schools;
}

test('a curator given a school in «Люди и доступ» is its curator on every screen', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [MUNI, FIRST, SECOND] });
  const muni = await signedIn(browser, server.url, MUNI);

  // «Люди и доступ → Изменить школы»: Школа № 1 for the first curator.
  await muni.goto('/people');
  const first = muni.locator('li.entry', { hasText: FIRST.login });
  await first.getByRole('button', { name: 'Изменить школы' }).click();
  await first.getByLabel('Школа № 1').check();
  await first.getByRole('button', { name: 'Сохранить школы' }).click();
  await expect(first).toContainText('школы: Школа № 1');

  // The school screen names her; the dashboard counts her.
  await openSchool(muni);
  await expect(muni.locator('section.participants .curator')).toHaveText(FIRST.name);
  await muni.goto('/monitoring');
  await expect(muni.locator('table.dash-federal tr', { hasText: 'назначены кураторы' })).toContainText('1 из 2');
  // The rights followed: she opens the school and may record a visit.
  await expect.poll(() => schoolsOnServer(muni, FIRST.login, server.url), { timeout: 15_000 }).toEqual(['s1']);
  const curator = await signedIn(browser, server.url, FIRST);
  await openSchool(curator);
  await expect(curator.locator('section.participants .curator')).toHaveText(FIRST.name);
  await expect(curator.getByRole('button', { name: 'Новое посещение' })).toBeVisible();

  // On the school screen the coordinator names the second curator instead.
  await openSchool(muni);
  await muni.getByRole('button', { name: 'Изменить участников' }).click();
  const form = muni.getByRole('form', { name: 'Участники школы' });
  await form.getByLabel('Куратор').selectOption({ label: SECOND.name });
  await form.getByRole('button', { name: 'Сохранить участников' }).click();
  await expect(muni.locator('section.participants .curator')).toHaveText(SECOND.name);
  await expect.poll(() => schoolsOnServer(muni, SECOND.login, server.url), { timeout: 15_000 }).toEqual(['s1']);
  await expect.poll(() => schoolsOnServer(muni, FIRST.login, server.url)).toEqual([]);
  await muni.goto('/people');
  await expect(muni.locator('li.entry', { hasText: FIRST.login })).toContainText('школы: не назначены');
  await expect(muni.locator('li.entry', { hasText: SECOND.login })).toContainText('школы: Школа № 1');
  await muni.goto('/monitoring');
  await expect(muni.locator('table.dash-federal tr', { hasText: 'назначены кураторы' })).toContainText('1 из 2');
});

// The same one assignment when it is made outside «Люди и доступ»: by the
// administrator's `create-user --school`, by a script through
// `PUT /api/people/{id}`, by an invitation that names the schools. Each is
// written into the school's file, so the school screen (live, on a device
// that has it open), the dashboard and the rights agree.
test('a curator assigned by the administrator, the API or an invitation is the curator on every screen', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [MUNI, { ...FIRST, schools: ['s1'] }, SECOND] });
  const muni = await signedIn(browser, server.url, MUNI);

  // The administrator made the first curator with `--school s1`.
  await openSchool(muni);
  await expect(muni.locator('section.participants .curator')).toHaveText(FIRST.name);
  await muni.goto('/monitoring');
  await expect(muni.locator('table.dash-federal tr', { hasText: 'назначены кураторы' })).toContainText('1 из 2');

  // A script gives the second curator school 2 while the coordinator has
  // its screen open: it says so without a reload.
  await muni.goto('/s/s2');
  await expect(muni.locator('.school-page[data-loaded=true]')).toBeVisible();
  await expect(muni.locator('section.participants .curator')).toHaveText('не назначен');
  const people = (await (await muni.context().request.get(`${server.url}/api/people`)).json()).people as { id: string; login: string }[];
  const second = people.find((p) => p.login === SECOND.login)!.id;
  const put = await muni.context().request.put(`${server.url}/api/people/${second}`, { data: { schools: ['s2'] } });
  expect(put.status()).toBe(200);
  await expect(muni.locator('section.participants .curator')).toHaveText(SECOND.name, { timeout: 15_000 });
  await muni.goto('/monitoring');
  await expect(muni.locator('table.dash-federal tr', { hasText: 'назначены кураторы' })).toContainText('2 из 2');
  await muni.goto('/schools');
  await expect(muni.locator('.participants-table tr[data-unit=s2] td[data-label="Куратор"]')).toHaveText(SECOND.name);

  // An invitation naming school 1: the invitee is its curator once they
  // register, and the first curator no longer is.
  const created = await muni.context().request.post(`${server.url}/api/invitations`, {
    data: { role: 'curator', unit: 'm1', schools: ['s1'], name: 'Куратор Третьякова' },
  });
  expect(created.status()).toBe(201);
  const code = (await created.json()).code as string;
  const invitee = await device(browser, server.url);
  await invitee.goto(`/invite/${code}`);
  await invitee.getByLabel('Логин').fill('curator3');
  await invitee.getByLabel('Пароль', { exact: true }).fill('curator-secret-3');
  await invitee.getByLabel('Пароль ещё раз').fill('curator-secret-3');
  await invitee.getByRole('button', { name: 'Принять приглашение' }).click();
  await expect(invitee.locator('.account-name')).toHaveText('Куратор Третьякова');
  await openSchool(invitee);
  await expect(invitee.locator('section.participants .curator')).toHaveText('Куратор Третьякова');
  await expect(invitee.getByRole('button', { name: 'Новое посещение' })).toBeVisible();
  await openSchool(muni);
  await expect(muni.locator('section.participants .curator')).toHaveText('Куратор Третьякова');
  await muni.goto('/people');
  await expect(muni.locator('li.entry', { hasText: FIRST.login })).toContainText('школы: не назначены');
  await expect(muni.locator('li.entry:not(.invitation)', { hasText: 'curator3' })).toContainText('школы: Школа № 1');
});
