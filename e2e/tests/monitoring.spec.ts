// Monitoring on a date, against a real medk-server: a school team carries
// out its roadmap over spring 2022, a municipal coordinator records a
// curator visit and assigns the curator, then watches her municipality's
// dashboard: the done share and the federal indicators as they stood on
// the chosen date, the charts and the schools.
//
// The devices' clocks are set to days of 2022 (Playwright's clock): every
// change records when it was made, and the dashboard reads each document
// as it stood at the end of the monitoring day.
import type { Page } from '@playwright/test';
import { activities, addActivity, createRoadmap, waitForOfflineReady } from '../support/app';
import { device, expect, expectSynced, signInByForm, test } from '../support/accounts';
import { CURATOR, MUNI, TEAM, UNITS } from '../support/people';
import { listRecords, spoilChunks, storedPieces } from '../support/device';

/** Moscow time on a day of 2022. */
const moment = (iso: string, time = '10:00') => new Date(`${iso}T${time}:00+03:00`);

async function monitoringOn(page: Page, day: string) {
  await page.getByLabel('Дата мониторинга').fill(day);
  await expect(page).toHaveURL(new RegExp(`\\?date=${day}$`));
}

function indicator(page: Page, name: string) {
  return page.locator('table.dash-federal tr', { hasText: name });
}

test('a municipal coordinator sees her schools on a monitoring date', async ({ browser, serve }) => {
  // The curator serves no school until the coordinator assigns her on 10 March.
  const server = await serve({ units: UNITS, people: [TEAM, MUNI, { ...CURATOR, schools: [] }] });

  // 1 March: the school team writes its roadmap.
  const team = await device(browser, server.url);
  await team.clock.setFixedTime(moment('2022-03-01'));
  await signInByForm(team, TEAM.login, TEAM.password, TEAM.name);
  await createRoadmap(team, 'Школа № 1: дорожная карта на 2022 год');
  const plan = [
    ['Входная диагностика', 'январь 2022'],
    ['Педагогический совет по итогам диагностики', 'до 28.02.2022'],
    ['Итоговый анализ', 'декабрь 2022'],
  ];
  for (const [i, [description, deadline]] of plan.entries()) {
    const row = await addActivity(team, 0, description);
    await row.getByLabel('Сроки').fill(deadline);
    await expect(activities(team).nth(i).getByLabel('Сроки')).toHaveValue(deadline);
  }
  await expectSynced(team);
  // 20 March and 10 May: the January and February activities, done late.
  await team.clock.setFixedTime(moment('2022-03-20'));
  await activities(team).nth(0).getByLabel('Статус').selectOption('done');
  await expectSynced(team);
  await team.clock.setFixedTime(moment('2022-05-10'));
  await activities(team).nth(1).getByLabel('Статус').selectOption('done');
  await expectSynced(team);

  // 10 March: the municipal coordinator records a curator visit to
  // school 1 and assigns its curator.
  const muni = await device(browser, server.url);
  await muni.clock.setFixedTime(moment('2022-03-10', '16:00'));
  await signInByForm(muni, MUNI.login, MUNI.password, MUNI.name);
  await muni.goto('/s/s1');
  await muni.getByRole('button', { name: 'Новое посещение' }).click();
  const visit = muni.locator('form.visit-form');
  await visit.getByLabel('Дата').fill('2022-03-10');
  await visit.getByLabel('Цель посещения').fill('Консультация школьной команды');
  await visit.getByRole('button', { name: 'Сохранить посещение' }).click();
  await expect(muni.locator('section.visits')).toContainText('10.03.2022');
  await muni.getByRole('button', { name: 'Изменить участников' }).click();
  const participants = muni.getByRole('form', { name: 'Участники школы' });
  await participants.getByLabel('Куратор').selectOption({ label: CURATOR.name });
  await participants.getByRole('button', { name: 'Сохранить участников' }).click();
  await expect(muni.locator('section.participants .curator')).toHaveText(CURATOR.name);
  // The survey for the risk profile, completed on 1 March, marked now.
  const survey = muni.locator('.school-survey');
  await expect(survey.locator('.survey-state')).toHaveText('не завершено');
  await survey.getByLabel('Дата завершения').fill('2022-03-01');
  await survey.getByRole('button', { name: 'Отметить завершённым' }).click();
  await expect(survey.locator('.survey-state')).toHaveText(`завершено 01.03.2022 (отметил(а): ${MUNI.name})`);

  // Her dashboard, from the menu: her municipality, today (10 March).
  await muni.locator('.account .topbar-button').click();
  await muni.locator('#account-panel').getByRole('link', { name: 'Мониторинг' }).click();
  await expect(muni).toHaveURL(/\/monitoring$/);
  await expect(muni.getByRole('heading', { level: 1 })).toHaveText('Мониторинг: Каменский район');
  await expect(muni.getByLabel('Дата мониторинга')).toHaveValue('2022-03-10');
  const schools = muni.locator('table.dash-schools tbody tr');
  await expect(schools).toHaveCount(2);
  await expect(schools.nth(0)).toContainText('Школа № 1');
  await expect(schools.nth(1)).toContainText('Школа № 2');
  await expect(muni.locator('table.dash-schools')).not.toContainText('Школа № 3');
  await expect(schools.nth(0).getByRole('link', { name: 'Школа № 1' })).toHaveAttribute('href', '/s/s1');
  // The roadmap is not on her device: fetched from the server.
  await expect(schools.nth(0)).toContainText('0 из 2', { timeout: 20_000 });

  const share = muni.locator('.dash-figure[data-share]');
  // 1 June: both due activities done.
  await monitoringOn(muni, '2022-06-01');
  await expect(share).toHaveAttribute('data-share', '100 %');
  await expect(share).toContainText('исполнено 2 из 2 мероприятий');
  // 1 April: the February one was not done yet.
  await monitoringOn(muni, '2022-04-01');
  await expect(share).toHaveAttribute('data-share', '50 %');
  await expect(share).toContainText('исполнено 1 из 2 мероприятий');
  await expect(schools.nth(0)).toContainText('50 %');
  await expect(schools.nth(1)).toContainText('нет дорожной карты');
  await expect(indicator(muni, 'назначены кураторы')).toContainText('1 из 2');
  await expect(indicator(muni, 'посещённых кураторами')).toContainText('1 из 2');
  await expect(indicator(muni, 'назначены кураторы')).toContainText('50 %');
  await expect(indicator(muni, 'концептуальные документы')).toContainText('0 из 2');
  // School 1 is still forming its roadmap (a visit a week): late by then.
  await expect(schools.nth(0)).toContainText('Школу не посещали 22 дня (по графику — раз в 7 дней); последнее посещение 10.03.2022');
  await expect(schools.nth(1)).toContainText('Ещё не посещали (по графику — раз в 7 дней)');
  await expect(indicator(muni, 'завершено анкетирование')).toContainText('1 из 2');

  // The charts: SVG with text labels and figures.
  const federal = muni.locator('svg.chart[aria-label^="Федеральные показатели"]');
  await expect(federal).toHaveAttribute('role', 'img');
  await expect(federal.locator('text.chart-label')).toContainText(['Назначены кураторы', 'Посещены кураторами']);
  await expect(federal.locator('text.chart-value').first()).toHaveText('50 % (1 из 2)');
  const bySchool = muni.locator('svg.chart[aria-label^="Доля исполненных мероприятий по школам"]');
  await expect(bySchool.locator('text.chart-label')).toHaveText(['Школа № 1', 'Школа № 2']);
  await expect(bySchool.locator('text.chart-value')).toHaveText(['50 % (1 из 2)', 'нет дорожной карты']);

  // 5 March: both were due, neither done; no curator or visit yet.
  await monitoringOn(muni, '2022-03-05');
  await expect(share).toHaveAttribute('data-share', '0 %');
  await expect(share).toContainText('исполнено 0 из 2 мероприятий');
  await expect(indicator(muni, 'назначены кураторы')).toContainText('0 из 2');
  await expect(indicator(muni, 'посещённых кураторами')).toContainText('0 из 2');
  // The survey was completed on 1 March, but marked in the file only on 10 March.
  await expect(indicator(muni, 'завершено анкетирование')).toContainText('0 из 2');
  // 15 February: the roadmap did not exist yet, which the figures say.
  await monitoringOn(muni, '2022-02-15');
  await expect(share).toHaveAttribute('data-share', 'нет сроков');
  await expect(share).toHaveText(
    'Нет мероприятий со сроком по 15.02.2022: нет дорожной карты — 1 школа; дорожная карта внесена позже — 1 школа.',
  );
  await expect(schools.nth(0).locator('td').first()).toHaveText('0');
  await expect(schools.nth(0)).toContainText('дорожная карта внесена 01.03.2022 — позже даты мониторинга; дата принятия плана не указана');

  // The address keeps the date: a reload shows the same day, now from
  // what is on the device.
  await monitoringOn(muni, '2022-04-01');
  await muni.reload();
  await expect(muni.getByLabel('Дата мониторинга')).toHaveValue('2022-04-01');
  await expect(share).toHaveAttribute('data-share', '50 %');

  // What the dashboard read is kept on the device for its next opening
  // (the roadmap and both school files). A change written here forgets
  // that document's reading, so reopening never shows a stale figure.
  await expect.poll(() => keptReadings(muni)).toHaveLength(3);
  await muni.goto('/s/s1');
  await muni.getByRole('button', { name: 'Новое посещение' }).click();
  await visit.getByLabel('Дата').fill('2022-03-20');
  await visit.getByLabel('Цель посещения').fill('Проверка хода работ');
  await visit.getByRole('button', { name: 'Сохранить посещение' }).click();
  await expect(muni.locator('section.visits')).toContainText('20.03.2022');
  await expect.poll(() => keptReadings(muni)).toHaveLength(2);
  await muni.goto('/monitoring?date=2022-04-01');
  await expect(schools.nth(0)).toContainText('Школу не посещали 12 дней (по графику — раз в 7 дней); последнее посещение 20.03.2022');
  await expect(share).toHaveAttribute('data-share', '50 %');
  await expect.poll(() => keptReadings(muni)).toHaveLength(3);
});

/** The keys of the dashboard's readings kept in the device's IndexedDB. */
function keptReadings(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('medk');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const keys = db.transaction('readings').objectStore('readings').getAllKeys();
          keys.onerror = () => reject(keys.error);
          keys.onsuccess = () => {
            db.close();
            resolve(keys.result.map(String));
          };
        };
      }),
  );
}

test('offline, a school whose roadmap copy cannot be read is marked so, never summed up as having no roadmap', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM, MUNI] });
  const team = await device(browser, server.url);
  await signInByForm(team, TEAM.login, TEAM.password, TEAM.name);
  await createRoadmap(team, 'Школа № 1: дорожная карта');
  const row = await addActivity(team, 0, 'Итоговый анализ');
  await row.getByLabel('Сроки').fill('декабрь 2099');
  await expectSynced(team);

  const muni = await device(browser, server.url);
  await signInByForm(muni, MUNI.login, MUNI.password, MUNI.name);
  await muni.goto('/monitoring');
  const schools = muni.locator('table.dash-schools tbody tr');
  await expect(schools.nth(0)).toContainText('сроки мероприятий ещё не наступили', { timeout: 20_000 });
  await expectSynced(muni);
  await waitForOfflineReady(muni);

  // Offline, a broken disk spoils the roadmap's copy on her device.
  await muni.context().setOffline(true);
  await muni.goto('/icon.svg');
  const roadmap = (await listRecords(muni)).find((r) => (r.kind ?? 'roadmap') === 'roadmap');
  await spoilChunks(muni, (await storedPieces(muni, roadmap.id)).map((p) => p.key));
  await muni.goto('/monitoring');
  await expect(muni.getByText(/Не прочитаны на этом устройстве/)).toBeVisible({ timeout: 20_000 });
  const share = muni.locator('.dash-figure[data-share]');
  await expect(share).toContainText('не прочитано на этом устройстве — 1 школа');
  await expect(share).toContainText('нет дорожной карты — 1 школа'); // school 2 has none, truly
  await expect(schools.nth(0)).toContainText('не прочитано на устройстве');
  await expect(schools.nth(0)).not.toContainText('нет дорожной карты');
  const bySchool = muni.locator('svg.chart[aria-label^="Доля исполненных мероприятий по школам"]');
  await expect(bySchool.locator('text.chart-value')).toHaveText(['не прочитано на этом устройстве', 'нет дорожной карты']);

  // Online, the server's copy takes its place; she never edited it, so she
  // is not asked to check «her» last edits.
  await muni.context().setOffline(false);
  const notice = muni.locator('.notice').filter({ hasText: 'загружена с сервера' });
  await expect(notice).toBeVisible({ timeout: 20_000 });
  await expect(notice).not.toContainText('проверьте');
  await expect(schools.nth(0)).not.toContainText('не прочитано на устройстве', { timeout: 20_000 });
});

test('a regional coordinator sees municipalities side by side', async ({ browser, serve }) => {
  const REGIONAL = { login: 'reg', password: 'regional-secret', role: 'regional-coordinator', unit: 'r1', name: 'Морозова Оксана Владимировна' };
  const server = await serve({ units: UNITS, people: [REGIONAL] });
  const page = await device(browser, server.url);
  await signInByForm(page, REGIONAL.login, REGIONAL.password, REGIONAL.name);
  await page.goto('/monitoring');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Мониторинг: Каменская область');
  const rows = page.locator('table.dash-units tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('Каменский район');
  await expect(rows.nth(1)).toContainText('Соседний район');
  const chart = page.locator('svg.chart[aria-label*="по муниципалитетам"]');
  await expect(chart.locator('text.chart-label')).toHaveText(['Каменский район', 'Соседний район']);
  await expect(chart.locator('text.chart-value')).toHaveText(['нет дорожной карты', 'нет дорожной карты']);
  await expect(rows.nth(0)).toContainText('Нет мероприятий со сроком: нет дорожной карты — 2 школы');
  await expect(page.locator('table.dash-schools tbody tr')).toHaveCount(3);
  // A municipality's own dashboard, by its link.
  await rows.nth(1).getByRole('link', { name: 'Соседний район' }).click();
  await expect(page).toHaveURL(/\/monitoring\/m2\?date=\d{4}-\d\d-\d\d$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Мониторинг: Соседний район');
  await expect(page.locator('table.dash-schools tbody tr')).toHaveCount(1);
  await page.getByRole('navigation', { name: 'Выше по структуре' }).getByRole('link', { name: 'Каменская область' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Мониторинг: Каменская область');
});
