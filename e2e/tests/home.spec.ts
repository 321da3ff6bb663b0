// A person's home lists the roadmaps of their own unit by title (issue 18,
// item 2): the second member of a school team, on a device that has never
// held the school's roadmap, finds it on his home screen and on the school
// screen by its title, and opens it from there.
import { createRoadmap, editorLoaded } from '../support/app';
import { expect, expectSynced, signedIn, test } from '../support/accounts';

const UNITS = [
  { id: 'r1', parent: 'rf', level: 'region' as const, name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality' as const, name: 'Каменский район' },
  { id: 's1', parent: 'm1', level: 'school' as const, name: 'Школа № 1' },
  { id: 's2', parent: 'm1', level: 'school' as const, name: 'Школа № 2' },
];
const FIRST = { login: 'team1', password: 'team-secret-1', role: 'school-team', unit: 's1', name: 'Учитель Первый' };
const SECOND = { login: 'team2', password: 'team-secret-2', role: 'school-team', unit: 's1', name: 'Учитель Второй' };
const OTHER = { login: 'team3', password: 'team-secret-3', role: 'school-team', unit: 's2', name: 'Учитель Другой' };
const TITLE = 'Дорожная карта МОУ СОШ № 1 на 2026 год';

test('a team member finds his school’s roadmap by title before it is on his device', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [FIRST, SECOND, OTHER] });
  const first = await signedIn(browser, server.url, FIRST);
  const other = await signedIn(browser, server.url, OTHER);
  await createRoadmap(other, 'Карта другой школы');
  await expectSynced(other);
  await createRoadmap(first, TITLE);
  await expectSynced(first);

  const second = await signedIn(browser, server.url, SECOND);
  await second.goto('/');
  const onServer = second.locator('section.on-server');
  await expect(onServer.getByRole('link', { name: TITLE })).toBeVisible({ timeout: 15_000 });
  await expect(onServer).toContainText('Школа № 1');
  await expect(second.locator('.list-page')).not.toContainText('На этом устройстве пока нет дорожных карт');
  await expect(second.locator('.list-page')).not.toContainText('Карта другой школы');
  // The school screen names it by title too.
  await second.goto('/s/s1');
  await expect(second.locator('.school-page[data-loaded=true]')).toBeVisible();
  await expect(second.locator('.school-page')).toContainText(TITLE);
  await expect(second.locator('.school-page')).not.toContainText('Дорожная карта 2');

  // Opened from home, it comes to the device and is listed as its own.
  await second.goto('/');
  await onServer.getByRole('link', { name: TITLE }).click();
  await editorLoaded(second);
  await expect(second.getByLabel('Название дорожной карты')).toHaveValue(TITLE);
  await second.goto('/');
  await expect(second.locator('li.roadmap-item:not(.on-server-item) .item-title')).toHaveText([TITLE]);
  await expect(onServer).toBeHidden();

  // A renamed roadmap is listed under its new name.
  await first.getByLabel('Название дорожной карты').fill(`${TITLE} (уточнённая)`);
  await expectSynced(first);
  const third = await signedIn(browser, server.url, SECOND);
  await third.goto('/');
  await expect(third.locator('section.on-server').getByRole('link', { name: `${TITLE} (уточнённая)` })).toBeVisible({
    timeout: 15_000,
  });
});
