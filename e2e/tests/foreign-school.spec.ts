// A foreign school's link says there is no access (issue 18, item 6): a
// team member of one school opens another school's link and reads that he
// has no access, not an empty file under the school's id.
import { expect, signedIn, test } from '../support/accounts';

const UNITS = [
  { id: 'r1', parent: 'rf', level: 'region' as const, name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality' as const, name: 'Каменский район' },
  { id: 's1', parent: 'm1', level: 'school' as const, name: 'Школа № 1' },
  { id: 'A6n8BcKkn9M', parent: 'm1', level: 'school' as const, name: 'Школа № 4' },
];
const TEAM = { login: 'team', password: 'team-secret-1', role: 'school-team', unit: 's1', name: 'Учитель Первый' };

test('a team member who opens another school’s link is told he has no access', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM] });
  const team = await signedIn(browser, server.url, TEAM);
  await team.goto('/s/A6n8BcKkn9M');
  const page = team.locator('.school-page');
  await expect(page.getByRole('alert')).toContainText('Нет доступа к этой школе');
  await expect(page).not.toContainText('A6n8BcKkn9M');
  await expect(page.getByText('Посещений пока не записано.')).toBeHidden();
  await expect(page.locator('section.visits')).toBeHidden();
  // His own school opens as before.
  await team.goto('/s/s1');
  await expect(team.locator('.school-page[data-loaded=true]')).toBeVisible();
  await expect(team.locator('.school-page .no-access')).toBeHidden();
  await expect(team.getByRole('heading', { level: 1 })).toHaveText('Школа № 1');
});
