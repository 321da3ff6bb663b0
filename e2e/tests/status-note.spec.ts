// A status change takes a comment and evidence (issue 18, item 3): the
// person marks an activity done or not done and says why and what proves
// it, without adding a «Комментарии» column to the whole roadmap; the row,
// the activity's history and the printed report show what was said.
import { activities, addActivity, createRoadmap, editorLoaded } from '../support/app';
import { expect, signIn, test, type Person } from '../support/server';

const ANNA: Person = {
  login: 'anna',
  password: 'anna-password-1',
  role: 'federal-coordinator',
  name: 'Смирнова Анна Игоревна',
};

test.use({ serverOptions: { people: [ANNA] } });

test('marking an activity done or not done takes a comment and evidence', async ({ page, context, server }) => {
  await signIn(context, server, ANNA);
  await createRoadmap(page, 'Дорожная карта: комментарии к статусу');
  const headers = page.locator('[role=columnheader]');
  const columnsBefore = await headers.allTextContents();
  const row = await addActivity(page, 0, 'Педагогический совет по итогам диагностики');
  await addActivity(page, 0, 'Семинар для учителей');

  // Not done, with the reason.
  await row.getByLabel('Статус', { exact: true }).selectOption('not-done');
  const form = row.getByRole('form', { name: 'Пояснение к отметке' });
  await expect(form).toBeVisible();
  await form.getByLabel('Пояснение: что сделано или почему нет').fill('Перенесён: нет кворума');
  await form.getByRole('button', { name: 'Сохранить пояснение' }).click();
  await expect(form).toBeHidden();
  await expect(row.locator('.status-note')).toContainText('Перенесён: нет кворума');

  // Done later, with evidence; the old reason no longer stands beside it.
  await row.getByLabel('Статус', { exact: true }).selectOption('done');
  await expect(form.getByLabel('Пояснение: что сделано или почему нет')).toHaveValue('');
  await form.getByLabel('Пояснение: что сделано или почему нет').fill('Проведён, присутствовали 18 педагогов');
  await form.getByLabel('Подтверждение (ссылка, документ)').fill('Протокол № 3 от 12.03');
  await form.getByRole('button', { name: 'Сохранить пояснение' }).click();
  await expect(row.locator('.status-note')).toHaveText(/Проведён, присутствовали 18 педагогов · Подтверждение: Протокол № 3 от 12\.03/);
  // Skipping the comment is one click, and writes none.
  const other = activities(page).nth(1);
  await other.getByLabel('Статус', { exact: true }).selectOption('cancelled');
  await other.getByRole('button', { name: 'Без пояснения' }).click();
  await expect(other.locator('.status-note')).toBeHidden();
  // No column was added for anyone.
  expect(await headers.allTextContents()).toEqual(columnsBefore);

  // The history keeps each comment, with who gave it.
  await row.getByRole('button', { name: 'История' }).click();
  const dialog = page.getByRole('dialog', { name: /История/ });
  const entries = dialog.locator('.history-entry');
  const reason = entries.filter({ hasText: 'Комментарий к статусу: «Перенесён: нет кворума»' }).filter({ hasNotText: 'очищено' });
  await expect(reason).toHaveCount(1);
  await expect(reason.locator('.history-who')).toHaveText(ANNA.name!);
  await expect(
    entries.filter({ hasText: 'Комментарий к статусу: «Проведён, присутствовали 18 педагогов»; Подтверждение исполнения: «Протокол № 3 от 12.03»' }),
  ).toHaveCount(1);
  await page.keyboard.press('Escape');

  // After a reload too, and in the report for the printer.
  await page.reload();
  await editorLoaded(page);
  await expect(activities(page).nth(0).locator('.status-note')).toContainText('Протокол № 3 от 12.03');
  await page.getByRole('button', { name: 'Экспорт' }).click();
  await page.getByRole('link', { name: 'Отчёт для печати' }).click();
  const report = page.locator('.print-table').first();
  await expect(report).toContainText('Проведён, присутствовали 18 педагогов · Подтверждение: Протокол № 3 от 12.03');
});
