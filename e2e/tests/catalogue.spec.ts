// «Каталог рисков и правил» (`/catalogue`) against a real medk-server: the
// federal coordinator adds a risk factor, retires another, shortens the
// visit interval of the forming stage and drops a required document; a
// curator then sees all of it on the school's screen, and sees the
// catalogue itself read-only.
import type { Browser, Page } from '@playwright/test';
import { device, expect, expectSynced, signInByForm, test } from '../support/accounts';

const UNITS = [
  { id: 'r1', parent: 'rf', level: 'region' as const, name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality' as const, name: 'Каменский район' },
  { id: 's1', parent: 'm1', level: 'school' as const, name: 'Школа № 1' },
];
const FEDERAL = {
  login: 'federal',
  password: 'federal-secret-1',
  role: 'federal-coordinator',
  unit: 'rf',
  name: 'Координатор Федеральный',
};
const CURATOR = {
  login: 'curator',
  password: 'curator-secret-1',
  role: 'curator',
  unit: 'r1',
  schools: ['s1'],
  name: 'Куратор Иванова',
};
const PEOPLE = [FEDERAL, CURATOR];

const NEW_FACTOR = 'Низкая цифровая грамотность педагогов';
const RETIRED_FACTOR = 'Низкий уровень оснащения школы';
const INTERVAL = 'Посещать школу не реже чем раз в, дней';

type Who = { login: string; password: string; name: string };

async function signedIn(browser: Browser, url: string, who: Who): Promise<Page> {
  const page = await device(browser, url);
  await signInByForm(page, who.login, who.password, who.name);
  await expectSynced(page);
  return page;
}

/** Opens the catalogue the way a person does: from the account menu. */
async function openCatalogue(page: Page, who: Who) {
  await page.getByRole('button', { name: who.name }).click();
  await page.getByRole('link', { name: 'Каталог' }).click();
  await expect(page).toHaveURL(/\/catalogue$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Каталог рисков и правил');
  await expect(page.locator('.catalogue-page[data-loaded=true]')).toBeVisible();
}

function factor(page: Page, title: string) {
  return page.locator('.factor').filter({ has: page.locator('.factor-title', { hasText: title }) });
}

function forming(page: Page) {
  return page.locator('.stage-rules[data-stage=forming]');
}

test('the federal coordinator edits the catalogue; a curator sees it on the school screen and reads it', async ({
  browser,
  serve,
}) => {
  const server = await serve({ units: UNITS, people: PEOPLE });

  // ---- the federal coordinator edits -------------------------------------
  const federal = await signedIn(browser, server.url, FEDERAL);
  await openCatalogue(federal, FEDERAL);
  await expect(federal.getByText('Изменять каталог может только федеральный координатор')).toBeHidden();
  await expect(federal.locator('.factor')).toHaveCount(10);

  const form = federal.getByRole('form', { name: 'Новый фактор' });
  await form.getByLabel('Название нового фактора').fill(NEW_FACTOR);
  await form.getByLabel('Описание нового фактора').fill('Педагоги не используют цифровые ресурсы на уроках');
  await form.getByRole('button', { name: 'Добавить фактор' }).click();
  await expect(federal.locator('.factor')).toHaveCount(11);
  const added = federal.locator('.factor').last();
  await expect(added.getByLabel('Название')).toHaveValue(NEW_FACTOR);
  await expect(added.getByLabel('Описание')).toHaveValue('Педагоги не используют цифровые ресурсы на уроках');
  await expect(form.getByLabel('Название нового фактора')).toHaveValue('');

  const retired = factor(federal, RETIRED_FACTOR);
  await retired.getByRole('button', { name: 'Вывести из использования' }).click();
  await expect(retired.locator('.factor-edit').getByText('выведен', { exact: true })).toBeVisible();
  await expect(retired.getByRole('button', { name: 'Вернуть' })).toBeVisible();

  const interval = forming(federal).getByLabel(INTERVAL);
  await expect(interval).toHaveValue('7');
  await interval.fill('3');
  await interval.press('Tab');
  await expect(forming(federal)).toContainText('Сейчас: раз в 3 дня');

  const programme = forming(federal).getByLabel('Среднесрочная программа развития');
  await expect(programme).toBeChecked();
  await programme.uncheck();
  await expect(programme).not.toBeChecked();

  // Kept on the device: a reload shows the same catalogue.
  await federal.reload();
  await expect(federal.locator('.catalogue-page[data-loaded=true]')).toBeVisible();
  await expect(federal.locator('.factor').last().getByLabel('Название')).toHaveValue(NEW_FACTOR);
  await expect(forming(federal).getByLabel(INTERVAL)).toHaveValue('3');
  await expectSynced(federal);

  // ---- a curator works with the school ------------------------------------
  const curator = await signedIn(browser, server.url, CURATOR);
  await curator.goto('/s/s1');
  await expect(curator.locator('.school-page[data-loaded=true]')).toBeVisible();
  const risks = curator.locator('.risks');
  await expect(risks.locator('.risk legend', { hasText: NEW_FACTOR })).toBeVisible({ timeout: 15_000 });
  await expect(risks.locator('.risk legend', { hasText: RETIRED_FACTOR })).toHaveCount(0);
  await expect(risks.locator('.risk')).toHaveCount(10);
  // The forming stage no longer asks for the medium-term programme.
  await expect(curator.locator('article.filed[data-kind=concept]')).toBeVisible();
  await expect(curator.locator('article.filed[data-kind=medium-term-programme]')).toHaveCount(0);

  // A visit five days ago is late under the new three-day interval.
  const fiveDaysAgo = await curator.evaluate(() => {
    const d = new Date(Date.now() - 5 * 24 * 3600 * 1000);
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  });
  await curator.getByRole('button', { name: 'Новое посещение' }).click();
  const visit = curator.getByRole('form', { name: 'Новое посещение' });
  await visit.getByLabel('Дата').fill(fiveDaysAgo);
  await visit.getByLabel('Цель посещения').fill('Верификация РПШ');
  await visit.getByRole('button', { name: 'Сохранить посещение' }).click();
  await expect(curator.locator('.visit-list .visit')).toHaveCount(1);
  await expect(curator.locator('.visit-warning')).toHaveText('Школу не посещали 5 дней (по графику — раз в 3 дня)');

  // ---- the curator reads the catalogue -------------------------------------
  await openCatalogue(curator, CURATOR);
  await expect(curator.getByText('Изменять каталог может только федеральный координатор.')).toBeVisible();
  await expect(factor(curator, NEW_FACTOR)).toBeVisible();
  await expect(factor(curator, NEW_FACTOR)).toContainText('Педагоги не используют цифровые ресурсы на уроках');
  await expect(factor(curator, RETIRED_FACTOR).locator('.factor-title').getByText('выведен', { exact: true })).toBeVisible();
  await expect(curator.locator('.catalogue-page').getByRole('textbox')).toHaveCount(0);
  await expect(curator.getByRole('button', { name: 'Добавить фактор' })).toBeHidden();
  await expect(curator.getByRole('button', { name: 'Вывести из использования' })).toHaveCount(0);
  await expect(forming(curator).getByLabel(INTERVAL)).toHaveValue('3');
  await expect(forming(curator).getByLabel(INTERVAL)).toBeDisabled();
  await expect(forming(curator).getByLabel('Концепция развития')).toBeChecked();
  await expect(forming(curator).getByLabel('Концепция развития')).toBeDisabled();
  await expect(forming(curator).getByLabel('Среднесрочная программа развития')).not.toBeChecked();
});

test('the catalogue fits a tablet in portrait and a small laptop', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: PEOPLE });
  const federal = await signedIn(browser, server.url, FEDERAL);
  for (const size of [
    { width: 800, height: 1280 },
    { width: 1024, height: 768 },
  ]) {
    await federal.setViewportSize(size);
    await federal.goto('/catalogue');
    await expect(federal.locator('.catalogue-page[data-loaded=true]')).toBeVisible();
    // Nothing scrolls sideways, and every control is a comfortable target.
    const overflow = await federal.evaluate(() => {
      // The screen scrolls inside `main` (style.css), the page never.
      const main = document.getElementById('main')!;
      return Math.max(main.scrollWidth - main.clientWidth, document.documentElement.scrollWidth - window.innerWidth);
    });
    expect(overflow).toBeLessThanOrEqual(0);
    for (const control of await federal.locator('.catalogue-page button:visible, .catalogue-page input:visible:not([type=checkbox]), .catalogue-page label.check:visible').all()) {
      const box = (await control.boundingBox())!;
      expect(box.height).toBeGreaterThanOrEqual(44);
    }
  }
});
