// What a person stumbled on in the layout (issue 18, item 10), measured in
// the browser: at 1024×768 and 1280×800 a status select shows its whole
// label («Запланировано», not «Запланирова…») and no word of a narrow
// column is broken across lines («концептуальн ых»); on a tablet
// (800×1280) checkboxes are 40×40 px targets; a notice never covers the
// screen (the «Люди» section), can be closed and is announced.
import type { Page } from '@playwright/test';
import { addActivity, createRoadmap } from '../support/app';
import { device, expect, signedIn, test } from '../support/accounts';
import { fileURLToPath } from 'node:url';
import { MUNI, TEAM, UNITS } from '../support/people';

const SAKHALIN = fileURLToPath(new URL('../../shared/tests/fixtures/sakhalin-regional-2021.docx', import.meta.url));

const DESKTOPS = [
  { width: 1024, height: 768 },
  { width: 1280, height: 800 },
];

/** Words wider than the field they are in, and status labels wider than their select. */
function clipped(page: Page) {
  return page.evaluate(() => {
    const canvas = document.createElement('canvas').getContext('2d')!;
    const width = (text: string, el: Element) => {
      canvas.font = getComputedStyle(el).font;
      return canvas.measureText(text).width;
    };
    const px = (el: Element, prop: string) => parseFloat(getComputedStyle(el).getPropertyValue(prop)) || 0;
    const room = (el: HTMLElement) => el.clientWidth - px(el, 'padding-left') - px(el, 'padding-right');
    // A line may break at spaces and after a dash, nowhere else.
    const words = (text: string) => text.split(/\s+/).flatMap((w) => w.split(/(?<=[-‐–—])/)).filter(Boolean);
    const found: string[] = [];
    const cells = [...document.querySelectorAll<HTMLElement>('.sheet .row textarea.field, .sheet-head > div')];
    for (const el of cells) {
      const text = el instanceof HTMLTextAreaElement ? el.value : el.innerText;
      for (const word of words(text)) {
        if (width(word, el) > room(el) + 0.5) found.push(`«${word}» in ${room(el)}px`);
      }
    }
    for (const select of document.querySelectorAll<HTMLSelectElement>('select.status')) {
      // The label, its padding and the drop-down arrow.
      const need = (label: string) => width(label, select) + px(select, 'padding-left') + px(select, 'padding-right') + 20;
      for (const option of select.options) {
        if (need(option.text) > select.clientWidth) found.push(`«${option.text}» in a ${select.clientWidth}px select`);
      }
    }
    return found;
  });
}

test('statuses are whole and no word breaks across lines at 1024 and 1280 wide', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM] });
  const page = await device(browser, server.url);
  await page.setViewportSize(DESKTOPS[0]);
  await createRoadmap(page, 'Дорожная карта школы на 2021 год');
  const row = await addActivity(page, 0, 'Разработка и утверждение концептуальных документов общеобразовательной организации');
  await row.getByLabel('Форма проведения').fill('Педагогический совет');
  await row.getByLabel('Сроки').fill('сентябрь-октябрь 2021');
  await row.getByLabel('Ответственный исполнитель').fill('Заместитель директора по учебно-воспитательной работе');
  await row.getByLabel('Показатель реализации').fill('Доля концептуальных документов, подтверждённых куратором');
  await row.getByLabel('Форма отчета').fill('Аналитическая справка');
  await row.getByLabel('Статус').selectOption('planned');
  for (const size of DESKTOPS) {
    await page.setViewportSize(size);
    await expect(page.locator('.sheet-head')).toBeVisible();
    expect(await clipped(page), `at ${size.width}×${size.height}`).toEqual([]);
    // The status stays on screen, also when the table is wider than it.
    await expect(row.getByLabel('Статус')).toBeInViewport({ ratio: 1 });
    await expect(row.getByLabel('Статус')).toHaveValue('planned');
  }
});

test('checkboxes are 40 px targets on a tablet, and a notice never covers the screen', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM, MUNI] });
  const team = await signedIn(browser, server.url, TEAM);
  await team.setViewportSize({ width: 800, height: 1280 });
  await team.goto('/s/s1');
  await expect(team.locator('.school-page[data-loaded=true]')).toBeVisible();
  const boxes = team.locator('.risk input[type=checkbox]');
  expect(await boxes.count()).toBeGreaterThan(5);
  for (const box of await boxes.all()) {
    const b = (await box.boundingBox())!;
    expect(Math.min(b.width, b.height)).toBeGreaterThanOrEqual(40);
  }
  await boxes.first().check();
  await expect(boxes.first()).toBeChecked();

  // The municipal coordinator adds a school on «Люди и доступ»: the notice
  // that says so sits under the screen, never over the people below.
  const muni = await signedIn(browser, server.url, MUNI);
  for (const size of [...DESKTOPS, { width: 800, height: 1280 }]) {
    await muni.setViewportSize(size);
    await muni.goto('/people');
    const add = muni.getByRole('form', { name: 'Добавить организацию' });
    await add.getByLabel('Название').fill(`Школа № ${size.width}`);
    await add.getByRole('button', { name: 'Добавить организацию' }).click();
    const notice = muni.locator('.notices .notice');
    await expect(notice).toHaveText(new RegExp(`Добавлена организация «Школа № ${size.width}»`));
    await expect(muni.locator('.notices')).toHaveAttribute('aria-live', 'polite');
    const people = muni.getByRole('region', { name: 'Люди', exact: true });
    await people.scrollIntoViewIfNeeded();
    const covered = await muni.evaluate(() => {
      const note = document.querySelector('.notices .notice')!.getBoundingClientRect();
      const screen = document.getElementById('main')!.getBoundingClientRect();
      const overlaps = (r: DOMRect) => r.left < note.right && note.left < r.right && r.top < note.bottom && note.top < r.bottom;
      const controls = [...document.querySelectorAll('main a, main button, main input, main select, main textarea')]
        .map((el) => el.getBoundingClientRect())
        .filter((r) => r.width > 0 && r.height > 0 && r.bottom > screen.top && r.top < screen.bottom);
      return { screen: overlaps(screen), controls: controls.filter(overlaps).length };
    });
    expect(covered, `at ${size.width}×${size.height}`).toEqual({ screen: false, controls: 0 });
    await notice.getByRole('button', { name: 'Закрыть' }).click();
    await expect(notice).toBeHidden();
  }
});

// A table wider than a 1024×768 screen (a regional roadmap's columns)
// scrolls sideways in its frame; each section keeps its buttons on the
// screen («Удалить раздел» was off it).
test('a section keeps its buttons on the screen when its table is wider than it', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM] });
  const team = await signedIn(browser, server.url, TEAM);
  await team.setViewportSize({ width: 1024, height: 768 });
  await team.goto('/');
  await team.locator('label.file-button input[type=file]').setInputFiles(SAKHALIN);
  await team.locator('form.import-preview').getByRole('button', { name: 'Импортировать' }).click();
  await expect(team.locator('.row[data-activity]').first()).toBeVisible();
  const sheet = (await team.locator('.sheet').boundingBox())!;
  expect(sheet.width, 'the table is wider than the screen').toBeGreaterThan(1000);
  for (const name of ['Раздел выше', 'Раздел ниже', 'Удалить раздел']) {
    const box = (await team.getByRole('button', { name }).first().boundingBox())!;
    expect(box.x + box.width, name).toBeLessThanOrEqual(1024);
  }
});
