// What the sync indicator says while others type: only this device's own
// unsent changes count, a person who may only read is never told the
// server refused anything, «Всё сохранено на сервере» is never said while
// something is unsent, and deleting a roadmap with unsent changes warns.
import type { Page } from '@playwright/test';
import { activities, addActivity, createRoadmap, descriptions, editorLoaded, waitForOfflineReady } from '../support/app';
import { expect, expectSynced, signedIn, syncStatus, test } from '../support/accounts';

const UNITS = [
  { id: 'r1', parent: 'rf', level: 'region' as const, name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality' as const, name: 'Каменский район' },
  { id: 's1', parent: 'm1', level: 'school' as const, name: 'Школа № 1' },
];
const TEAM_A = { login: 'team-a', password: 'team-a-secret', role: 'school-team', unit: 's1', name: 'Завуч Петрова' };
const TEAM_B = { login: 'team-b', password: 'team-b-secret', role: 'school-team', unit: 's1', name: 'Учитель Сидоров' };
const MUNI = { login: 'muni', password: 'muni-secret-1', role: 'municipal-coordinator', unit: 'm1', name: 'Координатор Района' };

/** Every text the indicator shows from now on, in order (kept in the page). */
async function recordIndicator(page: Page) {
  await page.addInitScript(() => {
    const seen: string[] = ((window as any).__indicator = []);
    const watch = () => {
      const el = document.querySelector('.sync-status');
      if (!el) return setTimeout(watch, 20);
      const note = () => {
        const text = el.textContent ?? '';
        if (seen[seen.length - 1] !== text) seen.push(text);
      };
      note();
      new MutationObserver(note).observe(el, { subtree: true, childList: true, characterData: true, attributes: true });
    };
    watch();
  });
}

async function indicatorTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__indicator as string[]);
}

/** A colleague types a character every 100 ms until `stop` is set. */
function keepTyping(page: Page, row: number): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    const field = activities(page).nth(row).locator('textarea.f-description');
    await field.click();
    await field.press('Control+End');
    while (running) await field.pressSequentially('ж', { delay: 100 });
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

test('while a colleague types, only this device\'s changes count, a reader is never told of refusals, and «всё сохранено» is never said too early', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM_A, TEAM_B, MUNI] });
  const a = await signedIn(browser, server.url, TEAM_A);
  const path = await createRoadmap(a, 'Дорожная карта Школы № 1');
  for (const text of ['Первое', 'Второе']) await addActivity(a, 0, text);
  await expectSynced(a);

  // The municipal coordinator may only read; she keeps the roadmap open.
  const muni = await signedIn(browser, server.url, MUNI);
  await recordIndicator(muni);
  await muni.goto(path);
  await editorLoaded(muni);

  // Team B works offline for a while: three changes of its own.
  const b = await signedIn(browser, server.url, TEAM_B);
  await b.goto(path);
  await editorLoaded(b);
  await waitForOfflineReady(b);
  await b.context().setOffline(true);
  await expect(syncStatus(b)).toHaveAttribute('data-state', 'offline', { timeout: 15_000 });
  await activities(b).nth(1).getByLabel('Статус').selectOption('done');
  await activities(b).nth(1).getByLabel('Статус').selectOption('in-progress');
  await activities(b).nth(1).getByLabel('Статус').selectOption('done');
  await expect(syncStatus(b)).toHaveText('Нет связи · не отправлено: 3');

  // Team A types the whole time B comes back: B's reload and reconnect
  // must count B's three changes, not A's typing, and say «всё сохранено»
  // only once they are on the server.
  const typing = keepTyping(a, 0);
  await recordIndicator(b);
  await b.reload();
  await editorLoaded(b);
  await expect(syncStatus(b)).toContainText('не отправлено: 3');
  await b.context().setOffline(false);
  await expect(syncStatus(b)).toHaveAttribute('data-state', 'synced', { timeout: 30_000 });
  await new Promise((r) => setTimeout(r, 3_000));
  await typing.stop();

  const seenByB = await indicatorTexts(b);
  const counts = seenByB.map((t) => Number(/не отправлено: (\d+)/.exec(t)?.[1] ?? 0));
  expect(Math.max(...counts), `B's indicator: ${seenByB.join(' | ')}`).toBeLessThanOrEqual(3);
  const firstSaved = seenByB.findIndex((t) => t === 'Всё сохранено на сервере');
  expect(firstSaved).toBeGreaterThanOrEqual(0);
  expect(
    seenByB.slice(firstSaved).filter((t) => /не отправлено/.test(t)),
    `«всё сохранено» said while something was unsent: ${seenByB.join(' | ')}`,
  ).toEqual([]);

  // The reader never made a change: never «не отправлено», never a refusal.
  const seenByMuni = await indicatorTexts(muni);
  expect(seenByMuni.filter((t) => /не отправлено|не принял/.test(t)), seenByMuni.join(' | ')).toEqual([]);
  await expect(muni.locator('.refused')).toBeHidden();
  await expect.poll(() => descriptions(muni), { timeout: 10_000 }).toEqual(await descriptions(a));
});

test('deleting a roadmap with changes the server does not have warns how many will be lost', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM_A] });
  const a = await signedIn(browser, server.url, TEAM_A);
  const path = await createRoadmap(a, 'Удаляемая');
  await addActivity(a, 0, 'Отправлено');
  await expectSynced(a);
  await waitForOfflineReady(a);
  await a.context().setOffline(true);
  await expect(syncStatus(a)).toHaveAttribute('data-state', 'offline', { timeout: 15_000 });
  await activities(a).nth(0).getByLabel('Статус').selectOption('done');
  await expect(syncStatus(a)).toHaveText('Нет связи · не отправлено: 1');
  await a.goto('/');
  // On this device (the list also shows, apart, what the server has and
  // the device does not).
  const item = a.locator('.roadmap-item:not(.on-server-item)', { hasText: 'Удаляемая' });
  await item.getByRole('button', { name: 'Удалить' }).click();
  const dialog = item.getByRole('alertdialog');
  await expect(dialog).toContainText('ещё не отправлены на сервер: 1');
  await expect(dialog).toContainText('После удаления они пропадут');
  await expect(dialog.getByRole('button', { name: 'Удалить вместе с неотправленными' })).toBeVisible();
  await dialog.getByRole('button', { name: 'Отмена' }).click();
  expect(path).toMatch(/^\/r\//);

  // Deleted after all, then «Отменить»: still the one change unsent, not
  // the roadmap's whole history (a trial saw 26 become 7320 offline).
  await item.getByRole('button', { name: 'Удалить' }).click();
  await dialog.getByRole('button', { name: 'Удалить вместе с неотправленными' }).click();
  await expect(item).toBeHidden();
  // The server still has it (without the unsent change), and the list says so.
  await expect(a.locator('.on-server-item', { hasText: 'Удаляемая' })).toBeVisible();
  await a.locator('.notice').getByRole('button', { name: 'Отменить' }).click();
  await expect(item).toBeVisible({ timeout: 10_000 });
  await expect(syncStatus(a)).toHaveText('Нет связи · не отправлено: 1', { timeout: 10_000 });
  await a.reload();
  await expect(syncStatus(a)).toHaveText('Нет связи · не отправлено: 1', { timeout: 10_000 });
});

test('a roadmap just made is never «всё сохранено» before the server has it', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [TEAM_A] });
  const a = await signedIn(browser, server.url, TEAM_A);
  // A slow link: while `hold` is on, what the device sends waits on the way.
  let hold = false;
  const held: (() => void)[] = [];
  await a.context().routeWebSocket(/\/sync$/, (ws) => {
    const relay = ws.connectToServer();
    ws.onMessage((m) => (hold ? held.push(() => relay.send(m)) : relay.send(m)));
  });
  await a.goto('/');
  await expectSynced(a);
  // Every (page, indicator state) the device shows, polled in the page.
  await a.evaluate(() => {
    const seen: string[] = ((window as any).__states = []);
    setInterval(() => {
      const now = `${location.pathname} ${document.querySelector('.sync-status')?.getAttribute('data-state')}`;
      if (seen[seen.length - 1] !== now) seen.push(now);
    }, 10);
  });
  hold = true;
  await a.getByRole('button', { name: 'Создать дорожную карту' }).click();
  const form = a.getByRole('form', { name: 'Новая дорожная карта' });
  await form.getByLabel('Название').fill('Только что создана');
  await form.getByRole('button', { name: 'Создать' }).click();
  await expect(a).toHaveURL(/\/r\//);
  const path = new URL(a.url()).pathname;
  // How many changes a new roadmap is made of is not the point: it is unsent.
  await expect(syncStatus(a)).toContainText(/не отправлено: [1-9]/);
  const states: string[] = await a.evaluate(() => (window as any).__states);
  expect(states.filter((s) => s.startsWith(path)), 'on the new roadmap the indicator never said all was saved').not.toContain(`${path} synced`);

  hold = false;
  for (const send of held.splice(0)) send();
  await expectSynced(a);
});
