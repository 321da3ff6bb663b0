import { test, expect, signIn } from '../support/server';
import { activities, addActivity, createRoadmap, descriptions, waitForOfflineReady } from '../support/app';

test('after the first visit the app starts and edits with the server gone, and the edits reach it later', async ({ page, server, browser }) => {
  // Count the app's requests for persistent storage (the browser may grant
  // or refuse; asking is the app's part).
  await page.addInitScript(() => {
    const storage = navigator.storage;
    const persist = storage.persist.bind(storage);
    (window as any).persistAsked = 0;
    storage.persist = () => {
      (window as any).persistAsked += 1;
      return persist();
    };
  });
  await signIn(page.context(), server);
  const path = await createRoadmap(page, 'Карта для поездки');
  await addActivity(page, 0, 'Посещение школы');
  await waitForOfflineReady(page);
  await expect(page.locator('.sync-status')).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
  expect(await page.evaluate(() => (window as any).persistAsked)).toBeGreaterThan(0);

  await server.kill('SIGKILL');
  // The server is really gone.
  await expect(page.request.get(`${server.url}/api/health`)).rejects.toThrow();

  await page.reload();
  expect(await descriptions(page)).toEqual(['Посещение школы']);
  await addActivity(page, 0, 'Записано без сети');
  await activities(page).nth(0).getByLabel('Статус').selectOption('in-progress');
  await expect(page.locator('.sync-status')).toContainText('не отправлено');

  await page.reload();
  expect(await descriptions(page)).toEqual(['Посещение школы', 'Записано без сети']);
  await expect(activities(page).nth(0).getByLabel('Статус')).toHaveValue('in-progress');

  // The list and other routes work offline too.
  await page.goto('/');
  await expect(page.locator('.roadmap-item', { hasText: 'Карта для поездки' })).toContainText('мероприятий: 2');
  await page.goto(path);
  await expect(activities(page)).toHaveCount(2);

  // Back online: the offline edits reach the server (another device gets them).
  await server.restart();
  await expect(page.locator('.sync-status')).toHaveAttribute('data-state', 'synced', { timeout: 45_000 });
  const other = await browser.newContext({ baseURL: server.url });
  await signIn(other, server);
  const second = await other.newPage();
  await second.goto(path);
  expect(await descriptions(second)).toEqual(['Посещение школы', 'Записано без сети']);
  await expect(activities(second).nth(0).getByLabel('Статус')).toHaveValue('in-progress');
});
