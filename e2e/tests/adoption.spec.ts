// A plan imported today counts on past monitoring dates from the day it
// was adopted (issue 18, item 5). A school team imports its 2021 Word
// roadmap without saying when it was adopted: on 01.06.2021 the municipal
// coordinator's dashboard says the roadmap was entered later, and the other
// school has none, instead of «0 из 0». The team states the adoption date
// in the roadmap afterwards; from then the plan as imported counts from
// that day on her dashboard.
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { editorLoaded } from '../support/app';
import { expect, expectSynced, signedIn, test } from '../support/accounts';
import { MUNI, TEAM, UNITS } from '../support/people';

const PLAN = fileURLToPath(new URL('../../shared/tests/fixtures/sakhalin-regional-2021.docx', import.meta.url));

/** The school team imports the 2021 plan without saying when it was adopted. */
async function importPlan(team: Page) {
  await team.locator('label.file-button input[type=file]').setInputFiles(PLAN);
  await team.locator('form.import-preview').getByRole('button', { name: 'Импортировать' }).click();
  await editorLoaded(team);
  await expectSynced(team);
}

function school(page: Page, unit: string) {
  return page.locator(`table.dash-schools tr[data-school=${unit}]`);
}

test('a 2021 plan imported today counts from the day it was adopted, and an empty figure says why', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM, MUNI] });
  const team = await signedIn(browser, server.url, TEAM);
  await importPlan(team);

  const muni = await signedIn(browser, server.url, MUNI);
  await muni.goto('/monitoring?date=2021-06-01');
  await expect(school(muni, 's1')).toContainText(
    /дорожная карта внесена \d\d\.\d\d\.20\d\d — позже даты мониторинга; дата принятия плана не указана/,
    { timeout: 20_000 },
  );
  await expect(school(muni, 's1')).not.toContainText('0 из 0');
  await expect(school(muni, 's2')).toContainText('нет дорожной карты');
  const figure = muni.locator('.dash-figure[data-share]');
  await expect(figure).toHaveText(
    'Нет мероприятий со сроком по 01.06.2021: нет дорожной карты — 1 школа; дорожная карта внесена позже — 1 школа.',
  );

  // The roadmap's execution report on that date says why in words too.
  const roadmapPath = new URL(team.url()).pathname;
  const reportOn = async (day: string) => {
    await team.goto(`${roadmapPath}/report/${day}`);
    return team.locator('.report-summary');
  };
  await expect(await reportOn('2021-06-01')).toHaveText(
    /^Нет мероприятий со сроком до 01\.06\.2021: дорожная карта внесена \d\d\.\d\d\.20\d\d — позже даты отчёта; дата принятия плана не указана\.$/,
  );
  await team.goto(roadmapPath);
  await editorLoaded(team);

  // The team says when the plan was adopted.
  const adopted = team.getByLabel('Дата принятия плана');
  await adopted.fill('2021-01-15');
  await adopted.blur();
  await expectSynced(team);

  await muni.reload();
  await expect(school(muni, 's1')).toContainText('0 из 20', { timeout: 20_000 });
  await expect(figure).toHaveAttribute('data-share', '0 %');
  await expect(figure).toContainText('исполнено 0 из 20 мероприятий со сроком по 01.06.2021');
  // Marks made since the import are not in a 2021 figure, and it says so.
  const today = new Date().toLocaleDateString('ru-RU', { day: '2-digit', month: '2-digit', year: 'numeric' });
  await expect(school(muni, 's1')).toContainText(`отметки — с ${today}`);
  await expect(muni.locator('.dash-marks-later')).toContainText(
    'Школ, чьи дорожные карты внесены в систему позже 01.06.2021: 1. Для них план учтён с даты его принятия',
  );
  await expect(school(muni, 's2')).toContainText('нет дорожной карты');

  await muni.getByLabel('Дата мониторинга').fill('2021-01-20');
  await expect(school(muni, 's1')).toContainText('сроки мероприятий ещё не наступили (ближайший — 22.01.2021)');
  await muni.getByLabel('Дата мониторинга').fill('2021-01-10');
  await expect(school(muni, 's1')).toContainText('план принят 15.01.2021 — позже даты мониторинга');
  await expect(await reportOn('2021-01-10')).toHaveText(
    'Нет мероприятий со сроком до 10.01.2021: план принят 15.01.2021 — позже даты отчёта.',
  );
  await expect(await reportOn('2021-06-01')).toContainText('выполнено 0 из 20 мероприятий со сроком по эту дату');
  await expect(team.locator('.report-summary')).toContainText(`отметки об исполнении — с ${today}, когда дорожная карта внесена в систему`);
});

test('the municipal coordinator states when a school\'s imported plan was adopted, though she only reads the roadmap', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM, MUNI] });
  const team = await signedIn(browser, server.url, TEAM);
  await importPlan(team);
  const roadmapPath = new URL(team.url()).pathname;

  // She opens the school's roadmap: read-only, but the adoption date is hers to state.
  const muni = await signedIn(browser, server.url, MUNI);
  await muni.goto(roadmapPath);
  await editorLoaded(muni);
  await expect(muni.getByText('Только просмотр.')).toBeVisible();
  const hers = muni.locator('.adopted-on-coordinator').getByLabel('Дата принятия плана');
  await expect(hers).toBeEnabled();
  await hers.fill('2021-01-15');
  await hers.blur();
  await expect(muni.getByText('Дата принятия плана записана: 15.01.2021')).toBeVisible({ timeout: 15_000 });

  // The school's open roadmap shows it without a reload, and her dashboard counts from it.
  await expect(team.locator('.doc-body').getByLabel('Дата принятия плана')).toHaveValue('2021-01-15', { timeout: 15_000 });
  await muni.goto('/monitoring?date=2021-06-01');
  await expect(school(muni, 's1')).toContainText('0 из 20', { timeout: 20_000 });
  await muni.getByLabel('Дата мониторинга').fill('2021-01-10');
  await expect(school(muni, 's1')).toContainText('план принят 15.01.2021 — позже даты мониторинга');
});
