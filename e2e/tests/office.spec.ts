// Word and Excel in and out: a real .docx roadmap imported offline through the
// preview (with a column re-mapped by hand), then exported as .docx (which
// the server's own importer reads back the same), .xlsx, a page to print and
// the execution report on a date.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect, signIn } from '../support/server';
import { activities, editorLoaded, waitForOfflineReady } from '../support/app';

const FIXTURES = fileURLToPath(new URL('../../shared/tests/fixtures/', import.meta.url));
const MYSHKIN = join(FIXTURES, 'myshkin-municipal-2022.docx');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'myshkin-municipal-2022.json'), 'utf8'));

/** What `medk-server import FILE --dry-run --json` reads from a file. */
function dryRun(file: string): any {
  const run = spawnSync(process.env.MEDK_SERVER_BIN!, ['import', file, '--dry-run', '--json'], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

async function importMyshkin(page: import('@playwright/test').Page) {
  await page.goto('/');
  await waitForOfflineReady(page);
  // Offline: the file is read and parsed in the browser.
  await page.context().setOffline(true);
  await page.locator('label.file-button input[type=file]').setInputFiles(MYSHKIN);
  const preview = page.locator('form.import-preview');
  await expect(preview.getByRole('heading', { name: /Импорт из Word/ })).toBeVisible();
  const items = expected.sections.reduce((n: number, s: any) => n + s.items, 0);
  await expect(preview.locator('.import-counts')).toHaveText(
    `Разделов: ${expected.sections.length}, мероприятий: ${items}, в рабочей группе: ${expected.working_group.length}.`,
  );
  await expect(preview.getByLabel('Название')).toHaveValue(expected.title);
  await expect(preview.getByLabel('Уровень')).toHaveValue('municipal');
  // Columns are mapped by meaning; the person can change it.
  await expect(preview.getByLabel('Поле для столбца «Описание действий»')).toHaveValue('description');
  await expect(preview.getByLabel('Поле для столбца «Дата реализации»')).toHaveValue('deadline');
  const indicator = preview.getByLabel('Поле для столбца «Муниципальный показатель реализации»');
  await expect(indicator).toHaveValue('indicator');
  await indicator.selectOption('comments');
  // The first activity's deadline is understood.
  await expect(preview.locator('table.preview')).toContainText('01.12.2021 – 31.12.2021');
  await preview.getByRole('button', { name: 'Импортировать' }).click();
  await expect(page).toHaveURL(/\/r\/[1-9A-HJ-NP-Za-km-z]+$/);
  await editorLoaded(page);
  await expect(activities(page)).toHaveCount(items);
  await expect(page.locator('.sheet-head .col-comments')).toHaveText('Муниципальный показатель реализации');
  await expect(page.locator('.sheet-head .col-indicator')).toHaveCount(0);
  return items;
}

test('a Word roadmap imported offline is kept across a reload and reaches another device once online', async ({ page, browser, server }) => {
  await signIn(page.context(), server);
  const items = await importMyshkin(page);
  const path = new URL(page.url()).pathname;
  await expect(page.getByLabel('Название дорожной карты')).toHaveValue(expected.title);
  await expect(activities(page).first().locator('textarea.f-description')).toHaveValue(expected.items[0].cells[1]);
  // Still offline: a reload keeps it.
  await page.reload();
  await editorLoaded(page);
  await expect(activities(page)).toHaveCount(items);
  await expect(page.locator('.working-group textarea').first()).toHaveValue(expected.working_group[0].name);
  // Back online, it goes to the server, and another device opens it by its link.
  await page.context().setOffline(false);
  await expect(page.locator('.sync-status')).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  const other = await browser.newContext({ baseURL: server.url });
  await signIn(other, server);
  const second = await other.newPage();
  await second.goto(path);
  await editorLoaded(second);
  await expect(activities(second)).toHaveCount(items);
  await expect(second.locator('.sheet-head .col-comments')).toHaveText('Муниципальный показатель реализации');
  await other.close();
});

test('a damaged Word file is refused with a clear message and nothing is added', async ({ page }) => {
  await page.goto('/');
  await page.locator('label.file-button input[type=file]').setInputFiles({
    name: 'сломанный.docx',
    mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    buffer: Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(200, 7)]),
  });
  await expect(page.locator('.notice.error')).toContainText('Файл «сломанный.docx» не импортирован');
  await expect(page.locator('form.import-preview')).toHaveCount(0);
  await expect(page.locator('.roadmap-item')).toHaveCount(0);
});

test('an imported roadmap downloads as .docx and .xlsx, prints, and reports its execution on a date', async ({ page }, testInfo) => {
  const items = await importMyshkin(page);
  // Mark the first activity done today.
  await activities(page).first().getByLabel('Статус').selectOption('done');
  await page.getByRole('button', { name: 'Экспорт' }).click();
  const panel = page.locator('.export-panel');

  const [word] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Word (.docx)' }).click()]);
  // Named as the roadmap is, «№» and dots kept.
  expect(word.suggestedFilename()).toBe(`${expected.title.replace(/[\\/:*?"<>|]/g, ' ').replace(/\s+/g, ' ').trim()}.docx`);
  const wordPath = testInfo.outputPath('export.docx');
  await word.saveAs(wordPath);
  const back = dryRun(wordPath);
  expect(back.title).toBe(expected.title);
  expect(back.sections.map((s: any) => [s.title, s.activities.length])).toEqual(
    expected.sections.map((s: any) => [s.title, s.items]),
  );
  expect(back.working_group.map((m: any) => m.name)).toEqual(expected.working_group.map((m: any) => m.name));
  // The re-mapped column keeps its title in the exported file.
  expect(back.columns.map((c: any) => c.title)).toContain('Муниципальный показатель реализации');

  const [excel] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Excel (.xlsx)' }).click()]);
  expect(excel.suggestedFilename()).toMatch(/\.xlsx$/);
  const excelBytes = readFileSync(await excel.path());
  expect(excelBytes.subarray(0, 2).toString()).toBe('PK');

  const [report] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Отчёт (.docx)' }).click()]);
  expect(report.suggestedFilename()).toMatch(/^Отчет о выполнении на \d\d\.\d\d\.\d{4} .*\.docx$/);

  // The page for the printer: the whole roadmap, no app around it.
  await panel.getByRole('link', { name: 'Версия для печати' }).click();
  await expect(page.locator('.print-page h1')).toHaveText(expected.title);
  await expect(page.locator('.print-table').first().locator('tbody tr:not(.print-section)')).toHaveCount(items);

  // The execution report on today: the activity done today counts; on a date
  // before the import the roadmap's history holds none of its activities,
  // which the report says in words instead of «0 из 0».
  await page.goBack();
  await editorLoaded(page);
  await page.getByRole('button', { name: 'Экспорт' }).click();
  await panel.getByRole('link', { name: 'Отчёт для печати' }).click();
  await expect(page.locator('.report-summary')).toContainText(/выполнено 1 из \d+ мероприятий/);
  await expect(page.locator('.print-table').first()).toContainText('Выполнено');
  const path = new URL(page.url()).pathname.replace(/\d{4}-\d{2}-\d{2}$/, '2020-01-01');
  await page.goto(path);
  await expect(page.locator('.report-summary')).toHaveText(
    /^Нет мероприятий со сроком до 01\.01\.2020: дорожная карта внесена \d\d\.\d\d\.20\d\d — позже даты отчёта; дата принятия плана не указана\.$/,
  );
  await expect(page.locator('.print-table').first().locator('tbody tr:not(.print-section)')).toHaveCount(0);
});
