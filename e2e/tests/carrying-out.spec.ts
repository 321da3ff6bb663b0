// Carrying out a roadmap: each activity's deadline state against today, the
// editor's filters, the timeline («Календарь») and an activity's history
// (who changed what and when), as a signed-in person sees them.
import type { Page } from '@playwright/test';
import { activities, addActivity, createRoadmap, editorLoaded } from '../support/app';
import { expect, signIn, test, type Person } from '../support/server';

const ANNA: Person = {
  login: 'anna',
  password: 'anna-password-1',
  role: 'federal-coordinator',
  name: 'Смирнова Анна Игоревна',
};

test.use({ serverOptions: { people: [ANNA] } });

const pad = (n: number) => String(n).padStart(2, '0');
const ruDate = (d: Date) => `${pad(d.getDate())}.${pad(d.getMonth() + 1)}.${d.getFullYear()}`;

/** A deadline a few days ahead (in this calendar year, so its range covers this month), and its badge. */
function soon(): { text: string; badge: string } {
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const target = new Date(today);
  target.setDate(today.getDate() + 5);
  if (target.getFullYear() !== today.getFullYear()) target.setTime(new Date(today.getFullYear(), 11, 31).getTime());
  const days = Math.round((target.getTime() - today.getTime()) / 86_400_000);
  const badge = days === 0 ? 'Срок сегодня' : days === 1 ? 'Срок завтра' : `Срок через ${days} дн.`;
  return { text: `до ${ruDate(target)}`, badge };
}

async function fillRow(page: Page, index: number, deadline: string, responsible: string) {
  const row = activities(page).nth(index);
  if (deadline) await row.getByLabel('Сроки').fill(deadline);
  if (responsible) await row.getByLabel('Ответственный исполнитель').fill(responsible);
  return row;
}

function count(page: Page) {
  return page.locator('.filter-count');
}

function visibleRows(page: Page) {
  return page.locator('.row[data-activity]:visible');
}

/** The descriptions of the activities on screen (the filters hide the others). */
function shown(page: Page) {
  return expect.poll(() =>
    visibleRows(page)
      .locator('textarea.f-description')
      .evaluateAll((els) => els.map((el) => (el as HTMLTextAreaElement).value)),
  );
}

test('deadline badges, filters, the timeline and an activity history', async ({ page, context, server }) => {
  await signIn(context, server, ANNA);
  await createRoadmap(page, 'Дорожная карта: исполнение');
  await expect(page.locator('.account-name')).toHaveText(ANNA.name!);
  const due = soon();

  await addActivity(page, 0, 'Отчёт за прошлый год');
  await fillRow(page, 0, 'до 15.03.2021', 'Смирнова А.И.');
  await addActivity(page, 0, 'Заседание рабочей группы');
  await fillRow(page, 1, due.text, 'Петров П.П.');
  await addActivity(page, 0, 'Мероприятие на будущее');
  await fillRow(page, 2, 'декабрь 2030', 'Смирнова А.И., директор');
  await addActivity(page, 0, 'Анкетирование педагогов');
  const late = await fillRow(page, 3, 'до 15.03.2021', 'Петров П.П.');
  await late.getByLabel('Статус').selectOption('done');
  await addActivity(page, 0, 'Встреча с родителями');
  await fillRow(page, 4, '', 'Петров П.П.');

  // Badges: text, not colour only.
  const badge = (i: number) => activities(page).nth(i).locator('.deadline-badge');
  await expect(badge(0)).toHaveText('Просрочено');
  await expect(badge(1)).toHaveText(due.badge);
  await expect(badge(2)).toBeHidden();
  await expect(badge(3)).toHaveText('Выполнено с опозданием');
  await expect(badge(4)).toBeHidden();

  // Filters, alone and together, with the count; «Сбросить» clears them.
  const filters = page.getByRole('group', { name: 'Фильтры' });
  await expect(count(page)).toHaveText('Показано 5 из 5');
  await filters.getByRole('button', { name: 'Мои' }).click();
  await expect(count(page)).toHaveText('Показано 2 из 5');
  await shown(page).toEqual(['Отчёт за прошлый год', 'Мероприятие на будущее']);
  await filters.getByRole('button', { name: 'Просроченные' }).click();
  await expect(count(page)).toHaveText('Показано 1 из 5');
  await shown(page).toEqual(['Отчёт за прошлый год']);
  await filters.getByRole('button', { name: 'Сбросить' }).click();
  await expect(count(page)).toHaveText('Показано 5 из 5');
  await expect(visibleRows(page)).toHaveCount(5);

  await filters.getByRole('button', { name: 'Просроченные' }).click();
  await shown(page).toEqual(['Отчёт за прошлый год']);
  await filters.getByRole('button', { name: 'Просроченные' }).click();
  await filters.getByRole('button', { name: 'В этом месяце' }).click();
  await expect(count(page)).toHaveText('Показано 1 из 5');
  await shown(page).toEqual(['Заседание рабочей группы']);
  await filters.getByRole('button', { name: 'В этом месяце' }).click();
  await filters.getByLabel('По ответственному').selectOption('Петров П.П.');
  await expect(count(page)).toHaveText('Показано 3 из 5');
  await shown(page).toEqual([
    'Заседание рабочей группы',
    'Анкетирование педагогов',
    'Встреча с родителями',
  ]);
  await filters.getByRole('button', { name: 'Сбросить' }).click();
  await expect(count(page)).toHaveText('Показано 5 из 5');
  await expect(filters.getByLabel('По ответственному')).toHaveValue('');

  // The timeline: a bar per dated activity, named; the undated one apart.
  await page.getByRole('button', { name: 'Календарь' }).click();
  const timeline = page.getByRole('region', { name: 'Календарь мероприятий' });
  await expect(timeline).toBeVisible();
  await expect(page.locator('.sheet')).toBeHidden();
  await expect(timeline.locator('.tl-bar')).toHaveCount(4);
  for (const name of ['Отчёт за прошлый год', 'Заседание рабочей группы', 'Мероприятие на будущее', 'Анкетирование педагогов']) {
    await expect(timeline.getByRole('link', { name: new RegExp(name) })).toBeVisible();
  }
  await expect(timeline.getByRole('link', { name: /Отчёт за прошлый год/ })).toHaveAttribute('title', /Просрочено/);
  await expect(timeline.locator('.tl-today-label')).toHaveText('сегодня');
  const undated = timeline.getByRole('group', { name: 'Без срока' });
  await expect(undated).toContainText('Встреча с родителями');
  await expect(undated).toContainText('срок не указан');
  // A bar leads back to its row in the table.
  await timeline.getByRole('link', { name: /Мероприятие на будущее/ }).click();
  await expect(page.locator('.sheet')).toBeVisible();
  await expect(activities(page).nth(2).locator('textarea.f-description')).toBeFocused();

  // History: the person's name on each edit, oldest first.
  const future = activities(page).nth(2);
  await future.getByLabel('Сроки').fill('ноябрь 2030');
  await future.getByLabel('Ответственный исполнитель').focus();
  await future.getByRole('button', { name: 'История' }).click();
  const dialog = page.getByRole('dialog', { name: /История/ });
  await expect(dialog).toBeVisible();
  const entries = dialog.locator('.history-entry');
  const deadlineSet = entries.filter({ hasText: 'Срок: «декабрь 2030»' }).filter({ hasNotText: '→' });
  const deadlineMoved = entries.filter({ hasText: 'Срок: «декабрь 2030» → «ноябрь 2030»' });
  await expect(deadlineSet).toHaveCount(1);
  await expect(deadlineMoved).toHaveCount(1);
  await expect(deadlineSet.locator('.history-who')).toHaveText(ANNA.name!);
  await expect(deadlineMoved.locator('.history-who')).toHaveText(ANNA.name!);
  await expect(entries.filter({ hasText: 'Ответственный: «Смирнова А.И., директор»' }).locator('.history-who')).toHaveText(ANNA.name!);
  await expect(entries.first()).toContainText('Добавлено мероприятие');
  await expect(entries.last()).toContainText('ноябрь 2030');
  await expect(deadlineMoved.locator('.history-when')).toHaveText(/^\d\d\.\d\d\.\d{4} \d\d:\d\d$/);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(future.getByRole('button', { name: 'История' })).toBeFocused();

  // After a reload the history is read from the stored document.
  await page.reload();
  await editorLoaded(page);
  await activities(page).nth(2).getByRole('button', { name: 'История' }).click();
  await expect(page.getByRole('dialog', { name: /История/ }).locator('.history-entry').filter({ hasText: '→ «ноябрь 2030»' })).toContainText(ANNA.name!);
});
