// One curator assignment (issue 18, item 1): a municipal coordinator gives
// a curator a school in «Люди и доступ», and the school screen, the
// dashboard and the rights all follow it; naming another curator on the
// school screen moves the school (and its rights) from the first to the
// second, as «Люди и доступ» then shows.
import type { Page } from '@playwright/test';
import { expect, signedIn, test } from '../support/accounts';

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
