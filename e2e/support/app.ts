// Steps a person takes in the app, shared by the specs.
import { expect, type Page } from '@playwright/test';

/** Creates a roadmap from the list screen and waits for its editor. */
export async function createRoadmap(page: Page, title: string, level = 'school'): Promise<string> {
  await page.goto('/');
  await page.getByRole('button', { name: 'Создать дорожную карту' }).click();
  const form = page.getByRole('form', { name: 'Новая дорожная карта' });
  await form.getByLabel('Уровень').selectOption(level);
  await form.getByLabel('Название').fill(title);
  await form.getByRole('button', { name: 'Создать' }).click();
  await expect(page).toHaveURL(/\/r\/[1-9A-HJ-NP-Za-km-z]+$/);
  await expect(page.getByLabel('Название дорожной карты')).toHaveValue(title);
  return new URL(page.url()).pathname;
}

export function section(page: Page, index: number) {
  return page.locator('.section').nth(index);
}

export function activities(page: Page) {
  return page.locator('.row[data-activity]');
}

/** Adds an activity at the end of a section and types its description. */
export async function addActivity(page: Page, sectionIndex: number, description: string) {
  const s = section(page, sectionIndex);
  const before = await s.locator('.row[data-activity]').count();
  await s.getByRole('button', { name: '+ Мероприятие' }).click();
  const row = s.locator('.row[data-activity]').nth(before);
  const field = row.locator('textarea.f-description');
  await expect(field).toBeFocused();
  await field.fill(description);
  return row;
}

export async function setSectionTitle(page: Page, sectionIndex: number, title: string) {
  await section(page, sectionIndex).getByLabel('Название раздела').fill(title);
}

/** Waits until the service worker controls the page and holds the app shell. */
export async function waitForOfflineReady(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise<void>((resolve) =>
        navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }),
      );
    }
  });
}

/** Waits until the editor has its document (not just the cached view). */
export async function editorLoaded(page: Page) {
  await expect(page.locator('.editor[data-loaded=true]')).toBeVisible();
}

/** The descriptions of all activities, once the editor has opened. */
export async function descriptions(page: Page): Promise<string[]> {
  await editorLoaded(page);
  return activities(page).locator('textarea.f-description').evaluateAll((els) =>
    els.map((el) => (el as HTMLTextAreaElement).value),
  );
}
