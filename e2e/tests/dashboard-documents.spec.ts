// The dashboard shows each school's documents (issue 18, item 4): the
// concept confirmed while the other required ones are not leaves the
// «Концептуальные документы» indicator at 0, and the school's row says
// which kind stands where, as does the table downloaded from the dashboard.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, signedIn, test } from '../support/accounts';
import { MUNI, TEAM, UNITS } from '../support/people';

function filed(page: Page, kind: string) {
  return page.locator(`article.filed[data-kind=${kind}]`);
}

async function openSchool(page: Page) {
  await page.goto('/s/s1');
  await expect(page.locator('.school-page[data-loaded=true]')).toBeVisible();
}

test('the dashboard and its table say which documents each school filed and had confirmed', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM, MUNI] });
  const team = await signedIn(browser, server.url, TEAM);
  await openSchool(team);
  for (const [kind, name] of [['concept', 'Концепция.txt'], ['medium-term-programme', 'Программа.txt']]) {
    await filed(team, kind).locator('input[type=file]').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(name) });
    await expect(filed(team, kind).locator('.upload-state')).toHaveText('Отправлен на сервер', { timeout: 15_000 });
  }

  const muni = await signedIn(browser, server.url, MUNI);
  await openSchool(muni);
  await expect(filed(muni, 'concept').locator('.doc-state')).toHaveText('Подан на проверку', { timeout: 15_000 });
  await filed(muni, 'concept').getByRole('button', { name: 'Подтвердить' }).click();
  await expect(filed(muni, 'concept').locator('.doc-state')).toHaveText('Подтверждён');
  await expect(filed(muni, 'medium-term-programme').locator('.doc-state')).toHaveText('Подан на проверку');

  await muni.goto('/monitoring');
  const row = muni.locator('table.dash-schools tr[data-school=s1]');
  const documents = row.locator('.dash-documents');
  await expect(documents.locator('li[data-kind=concept]')).toHaveText('Концепция развития: подтверждён куратором', { timeout: 20_000 });
  await expect(documents.locator('li[data-kind=medium-term-programme]')).toHaveText('Среднесрочная программа развития: на проверке');
  await expect(documents.locator('li[data-kind=monitoring-1]')).toHaveText('Документы мониторинга, 1 этап: не подан');
  await expect(muni.locator('table.dash-schools tr[data-school=s2] .dash-documents')).toContainText('не подан');
  // The indicator still needs every required document.
  await expect(muni.locator('table.dash-federal tr', { hasText: 'концептуальные документы' })).toContainText('0 из 2');

  const download = muni.waitForEvent('download');
  await muni.getByRole('button', { name: 'Скачать таблицу школ (.csv)' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^Мониторинг школ на \d\d\.\d\d\.\d{4}\.csv$/);
  const lines = readFileSync((await file.path())!, 'utf8').replace(/^\uFEFF/, '').trim().split('\r\n');
  expect(lines[0]).toContain('"Концепция развития";');
  const school1 = lines.find((l) => l.startsWith('"Школа № 1"'))!;
  expect(school1).toContain('"подтверждён куратором"');
  expect(school1).toContain('"на проверке"');
  expect(school1).toContain('"не подан"');
});
