import { test, expect } from '../support/server';

test('the served app starts and shows its heading', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));

  await page.goto('/');

  await expect(page.locator('body')).toContainText('Дорожные карты');
  expect(errors, 'no uncaught errors (a broken wasm fails here)').toEqual([]);
});
