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
  await editorLoaded(page);
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
  // Before the document is open a structural edit is refused with «ещё
  // открывается» (the title shows earlier, from the cached view).
  await editorLoaded(page);
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

/**
 * Waits until the service worker controls the page and holds the app shell.
 * A worker whose install failed (a precache fetch failed on a busy machine)
 * is registered again, as the app's next start would; if the page is still
 * not controlled after 45 s, the error says what state the worker is in.
 */
export async function waitForOfflineReady(page: Page) {
  const failure = await page.evaluate(async () => {
    const sw = navigator.serviceWorker;
    const controlled = new Promise<void>((resolve) => {
      if (sw.controller) resolve();
      sw.addEventListener('controllerchange', () => resolve(), { once: true });
    });
    for (let waited = 0; waited < 45_000; waited += 5_000) {
      const tick = new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 5_000));
      if ((await Promise.race([controlled.then(() => 'done' as const), tick])) === 'done') return null;
      const registration = await sw.getRegistration();
      if (!registration || !(registration.installing || registration.waiting || registration.active)) {
        await sw.register('/sw.js').catch(() => undefined);
      }
    }
    const registration = await sw.getRegistration();
    const state = (w: ServiceWorker | null | undefined) => w?.state ?? 'none';
    return registration
      ? `installing ${state(registration.installing)}, waiting ${state(registration.waiting)}, active ${state(registration.active)}`
      : 'no registration';
  });
  if (failure) throw new Error(`the service worker does not control the page: ${failure}`);
}

/**
 * Waits until the editor has its document (not just the cached view). Up to
 * 15 s, like the sync waits: a device opening a large roadmap by its link
 * fetches it first, and on a loaded 2-core machine that took over 5 s (how
 * fast it opens is measured by `cargo xtask bench app`, not here).
 */
export async function editorLoaded(page: Page) {
  await expect(page.locator('.editor[data-loaded=true]')).toBeVisible({ timeout: 15_000 });
}

/** The descriptions of all activities, once the editor has opened. */
export async function descriptions(page: Page): Promise<string[]> {
  await editorLoaded(page);
  return activities(page).locator('textarea.f-description').evaluateAll((els) =>
    els.map((el) => (el as HTMLTextAreaElement).value),
  );
}
