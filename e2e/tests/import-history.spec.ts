// History names who imported activities and from which file (issue 18,
// item 8): a coordinator imports a Word roadmap, and an imported activity's
// history says «Импортировано из файла «…»» with her name, not «неизвестно».
// The preview takes the date the plan was adopted (item 5), which the
// roadmap then shows.
import { fileURLToPath } from 'node:url';
import { activities, editorLoaded } from '../support/app';
import { expect, signIn, test, type Person } from '../support/server';

const FILE = fileURLToPath(new URL('../../shared/tests/fixtures/myshkin-municipal-2022.docx', import.meta.url));
const ANNA: Person = { login: 'anna', password: 'anna-password-1', role: 'federal-coordinator', name: 'Смирнова Анна Игоревна' };

test.use({ serverOptions: { people: [ANNA] } });

test('an imported activity’s history names who imported it and from which file', async ({ page, context, server }) => {
  await signIn(context, server, ANNA);
  await page.goto('/');
  await expect(page.locator('.account-name')).toHaveText(ANNA.name!);
  await page.locator('label.file-button input[type=file]').setInputFiles(FILE);
  const preview = page.locator('form.import-preview');
  await preview.getByLabel('Дата принятия плана').fill('2022-01-20');
  await preview.getByRole('button', { name: 'Импортировать' }).click();
  await editorLoaded(page);
  await expect(page.getByLabel('Дата принятия плана')).toHaveValue('2022-01-20');

  await activities(page).first().getByRole('button', { name: 'История' }).click();
  const dialog = page.getByRole('dialog', { name: /История/ });
  const entry = dialog.locator('.history-entry').first();
  await expect(entry).toContainText('Импортировано из файла «myshkin-municipal-2022.docx»');
  await expect(entry.locator('.history-who')).toHaveText(ANNA.name!);
  await expect(dialog).not.toContainText('неизвестно');
});
