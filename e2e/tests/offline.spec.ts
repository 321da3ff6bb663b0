import { test, expect } from '../support/server';
import { activities, addActivity, createRoadmap, descriptions, waitForOfflineReady } from '../support/app';

test('after the first visit the app starts and edits with the server gone', async ({ page, server }) => {
  const path = await createRoadmap(page, 'Карта для поездки');
  await addActivity(page, 0, 'Посещение школы');
  await waitForOfflineReady(page);

  await server.kill('SIGKILL');
  // The server is really gone.
  await expect(page.request.get(`${server.url}/api/health`)).rejects.toThrow();

  await page.reload();
  expect(await descriptions(page)).toEqual(['Посещение школы']);
  await addActivity(page, 0, 'Записано без сети');
  await activities(page).nth(0).getByLabel('Статус').selectOption('in-progress');

  await page.reload();
  expect(await descriptions(page)).toEqual(['Посещение школы', 'Записано без сети']);
  await expect(activities(page).nth(0).getByLabel('Статус')).toHaveValue('in-progress');

  // The list and other routes work offline too.
  await page.goto('/');
  await expect(page.locator('.roadmap-item', { hasText: 'Карта для поездки' })).toContainText('мероприятий: 2');
  await page.goto(path);
  await expect(activities(page)).toHaveCount(2);

  // Back online: the server is there again and nothing was lost.
  await server.restart();
  await page.reload();
  expect(await descriptions(page)).toEqual(['Посещение школы', 'Записано без сети']);

  // Persistent storage was asked for (granted or not is the browser's call).
  const persisted = await page.evaluate(() => navigator.storage.persisted());
  expect(typeof persisted).toBe('boolean');
});
