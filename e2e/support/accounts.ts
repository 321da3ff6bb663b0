// Steps of accounts.spec.ts: a server with the people and units a test
// needs (made before it starts, see server.ts), devices, and signing in
// the way a person does, through the app's form.
import { rmSync } from 'node:fs';
import { test as base, expect, type Browser, type Page } from '@playwright/test';
import { attachLogOnFailure, browserLog, startServer, type MedkServer, type OrgUnit, type Person } from './server';

/**
 * `test` with `serve({units, people})`: a server on a fresh data dir holding
 * just those (stopped and removed after the test).
 */
export const test = base.extend<{
  serve: (setup: { units?: OrgUnit[]; people: Person[]; args?: string[] }) => Promise<MedkServer>;
  browserLog: void;
}>({
  browserLog: browserLog as any,
  serve: async ({}, use, testInfo) => {
    const started: MedkServer[] = [];
    await use(async (setup) => {
      const server = await startServer(setup);
      started.push(server);
      return server;
    });
    for (const server of started) {
      await attachLogOnFailure(server, testInfo);
      await server.kill('SIGKILL');
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  },
});

export { expect };

/** A new browser context (its own storage and cookies: another device). */
export async function device(browser: Browser, baseURL: string): Promise<Page> {
  const context = await browser.newContext({ baseURL });
  return context.newPage();
}

export function syncStatus(page: Page) {
  return page.locator('.sync-status');
}

/** Signs in on /login and waits for the person's name in the top bar. */
export async function signInByForm(page: Page, login: string, password: string, name: string) {
  if (!new URL(page.url()).pathname.startsWith('/login')) await page.goto('/login');
  const form = page.getByRole('form', { name: 'Вход' });
  await form.getByLabel('Логин').fill(login);
  await form.getByLabel('Пароль', { exact: true }).fill(password);
  await form.getByRole('button', { name: 'Войти' }).click();
  await expect(page.locator('.account-name')).toHaveText(name);
}

export async function expectSynced(page: Page) {
  await expect(syncStatus(page)).toHaveAttribute('data-state', 'synced', { timeout: 15_000 });
}

/** A new device on which `who` signs in, with everything synced. */
export async function signedIn(
  browser: Browser,
  url: string,
  who: { login: string; password: string; name: string },
): Promise<Page> {
  const page = await device(browser, url);
  await signInByForm(page, who.login, who.password, who.name);
  await expectSynced(page);
  return page;
}
