// What the relay's limits mean for a person in the app (issue 16): a
// roadmap bigger than one sync message still syncs (sent in pieces), a
// school past its roadmap limit is told so, and a link to a roadmap
// deleted for everyone says it was deleted, when and by whom.
import { writeFileSync } from 'node:fs';
import * as A from '@automerge/automerge';
import { activities, addActivity, createRoadmap } from '../support/app';
import { expect, signIn, test, TESTER } from '../support/server';

/**
 * A roadmap file another program wrote, as the outside tester did: all of
 * it in one Automerge change of about 250,000 operations, more than the
 * relay takes in one message (200,000).
 */
function bigRoadmapFile(path: string, count: number, chars: number) {
  const s = (v: string) => new A.ImmutableString(v);
  const paragraph = 'Проведение методического семинара для педагогов по вопросам функциональной грамотности. ';
  const description = paragraph.repeat(Math.ceil(chars / paragraph.length)).slice(0, chars);
  const acts: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    acts[`a${i}`] = {
      section: s('s1'), pos: s('80' + i.toString(16).padStart(4, '0')), deleted: false, status: s('planned'),
      completed_on: s(''), number: `1.${i + 1}`, description, form: '', deadline: 'в течение 2026 г.',
      responsible: '', indicator: '', report_form: '', evidence: '', comments: '',
    };
  }
  const doc = A.from({
    kind: s('medk/roadmap'), schema: 1, creator: s(''), nonce: s('0123456789abcdef'),
    header: { title: `Большая карта ${count}`, territory: '', approval: '', abbreviations: '', footnotes: '', level: s('regional'), year: 2026 },
    columns: [{ field: s('number'), title: '№' }, { field: s('description'), title: 'Мероприятие' }],
    sections: { s1: { title: '1. Раздел', pos: s('80'), deleted: false } },
    activities: acts,
    members: {},
  });
  writeFileSync(path, A.save(doc));
}

/**
 * A roadmap of `count` empty activities under all nine columns, as a
 * member's script could fill one up to the relay's row limit.
 */
function emptyRowsFile(path: string, count: number) {
  const s = (v: string) => new A.ImmutableString(v);
  const acts: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    acts[`a${i}`] = {
      section: s('s1'), pos: s('80' + i.toString(16).padStart(4, '0')), deleted: false, status: s('planned'),
      completed_on: s(''), number: '', description: '', form: '', deadline: '', responsible: '', indicator: '',
      report_form: '', evidence: '', comments: '',
    };
  }
  const fields = ['number', 'description', 'form', 'deadline', 'responsible', 'indicator', 'report_form', 'evidence', 'comments'];
  const doc = A.from({
    kind: s('medk/roadmap'), schema: 1, creator: s(''), nonce: s('0123456789abcdef'),
    header: { title: `Пустые строки ${count}`, territory: '', approval: '', abbreviations: '', footnotes: '', level: s('regional'), year: 2026 },
    columns: fields.map((f) => ({ field: s(f), title: f })),
    sections: { s1: { title: '1. Раздел', pos: s('80'), deleted: false } },
    activities: acts,
    members: {},
  });
  writeFileSync(path, A.save(doc));
}

function syncStatus(page: import('@playwright/test').Page) {
  return page.locator('.sync-status');
}

test('a roadmap bigger than one sync message reaches the server and another device', async ({ browser, page, context, server }, info) => {
  test.setTimeout(420_000);
  const file = info.outputPath('big.automerge');
  bigRoadmapFile(file, 1_100, 600);
  await signIn(context, server);
  await page.goto('/');
  await page.locator('label.file-button input[type=file]').setInputFiles(file);
  await expect(page).toHaveURL(/\/r\/[1-9A-HJ-NP-Za-km-z]+$/, { timeout: 180_000 });
  const path = new URL(page.url()).pathname;
  const id = path.split('/').pop()!;
  // Sent in pieces the relay takes, gathered there until whole, registered
  // and stored (before, it was one message over the limit, refused).
  await expect
    .poll(async () => (await context.request.get(`${server.url}/api/roadmaps`)).text(), { timeout: 300_000, intervals: [2_000] })
    .toContain(id);
  await expect(syncStatus(page)).toHaveAttribute('data-state', 'synced', { timeout: 60_000 });
  await expect(page.locator('.refused-why')).toBeHidden();

  // Another device opens its link and gets all of it.
  const other = await browser.newContext({ baseURL: server.url });
  await signIn(other, server);
  const second = await other.newPage();
  await second.goto(path);
  await expect(second.locator('.editor[data-loaded=true]')).toBeVisible({ timeout: 180_000 });
  await expect(second.getByLabel('Название дорожной карты')).toHaveValue('Большая карта 1100');
  await second.goto('/');
  await expect(second.locator('.item-details').first()).toContainText('мероприятий: 1100', { timeout: 30_000 });
  await other.close();
});

test.describe('a unit past its roadmap limit', () => {
  test.use({ serverOptions: { args: ['--max-roadmaps-per-unit', '1'] } });

  test('is told why its new roadmap is not on the server', async ({ page, context, server }) => {
    await signIn(context, server);
    await createRoadmap(page, 'Первая');
    await expect(syncStatus(page)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
    await createRoadmap(page, 'Вторая');
    const why = page.locator('.refused-why');
    await expect(why).toBeVisible({ timeout: 20_000 });
    await expect(why).toContainText('на сервере уже столько дорожных карт, сколько он принимает (1)');
    await expect(why).toContainText('пока координатор не удалит ненужные');
    await expect(page.getByText('Нет доступа к этой дорожной карте на сервере')).toBeHidden();
  });
});

test.describe('a person whose share of a roadmap is used up', () => {
  test.use({ serverOptions: { args: ['--max-document-ops-per-person', '3000'] } });

  // A trial's member kept typing after the refusal: nothing more typed
  // would ever be taken, and nothing said so.
  test('may only read it on that device, is told why, and can take the server\'s copy', async ({ page, context, server }) => {
    await signIn(context, server);
    await createRoadmap(page, 'Доля');
    await expect(syncStatus(page)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
    await addActivity(page, 0, 'Коротко');
    await expect(syncStatus(page)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
    const field = activities(page).nth(0).locator('textarea.f-description');
    await field.fill('Длинное описание мероприятия. '.repeat(150));
    const why = page.locator('.refused-why');
    await expect(why).toContainText('один человек может добавить не больше 3 000', { timeout: 20_000 });
    await expect(why).toContainText('здесь её теперь можно только читать');
    await expect(field).toBeDisabled();
    await expect(field).toHaveValue(/^Длинное описание/);

    // The server's copy is put back in place of the refused changes.
    await page.locator('.note-actions').getByRole('button', { name: 'Вернуть копию с сервера' }).click();
    await page.getByRole('button', { name: 'Удалить непринятые и вернуть копию с сервера' }).click();
    await expect(page.locator('.notice')).toContainText('Копия с сервера на месте', { timeout: 20_000 });
    const again = activities(page).nth(0).locator('textarea.f-description');
    await expect(again).toHaveValue('Коротко', { timeout: 20_000 });
    await expect(page.locator('.refused-why')).toBeHidden();
    // The server's copy may be edited at once, within the share left,
    // without reconnecting.
    await expect(again).toBeEnabled({ timeout: 20_000 });
    await again.fill('Коротко, но ясно');
    await expect(syncStatus(page)).toHaveAttribute('data-state', 'synced', { timeout: 20_000 });
    await expect(page.locator('.refused-why')).toBeHidden();
    await page.reload();
    await expect(again).toHaveValue('Коротко, но ясно', { timeout: 20_000 });
  });
});

test('a link to a roadmap deleted for everyone says it was deleted, when and by whom', async ({ browser, page, context, server }) => {
  await signIn(context, server);
  const path = await createRoadmap(page, 'Удаляемая');
  const id = path.split('/').pop()!;
  await expect.poll(async () => (await context.request.get(`${server.url}/api/roadmaps`)).text(), { timeout: 20_000 }).toContain(id);
  const res = await context.request.delete(`${server.url}/api/roadmaps/${id}`, { headers: { 'content-type': 'application/json' } });
  expect(res.status()).toBe(204);

  // A device that never had it opens the link.
  const fresh = await browser.newContext({ baseURL: server.url });
  await signIn(fresh, server);
  const other = await fresh.newPage();
  await other.goto(path);
  const said = other.locator('.open-error');
  await expect(said).toContainText('Дорожная карта удалена для всех', { timeout: 30_000 });
  await expect(said).toContainText(`удалил(а): ${TESTER.name}`);
  await expect(said).toContainText(/\d\d\.\d\d\.\d{4} в \d\d:\d\d по московскому времени/);
  await expect(said).not.toContainText('нет такой дорожной карты');
  await fresh.close();
});

// The relay takes up to 5,000 rows of a kind (`RELAY_MAX_ROWS`): a roadmap
// filled that far still opens and works on another device. Before, the
// limit was 50,000 and every row carried a hidden `<form>`, which made the
// browser re-scan all forms per row: 3,000 rows took minutes to appear and
// 30,000 froze every device that opened the roadmap.
test('a roadmap at the relay\'s row limit opens, shows every row and takes edits', async ({ page }, info) => {
  test.setTimeout(240_000);
  const file = info.outputPath('rows.automerge');
  emptyRowsFile(file, 5_000);
  await page.goto('/');
  await page.locator('label.file-button input[type=file]').setInputFiles(file);
  await expect(page).toHaveURL(/\/r\/[1-9A-HJ-NP-Za-km-z]+$/, { timeout: 60_000 });
  // Counted every few seconds: Playwright's waiting for an element watches
  // every change to the page, which itself slows a page adding 5,000 rows.
  const rows = activities(page);
  const allRows = () => expect.poll(() => rows.count(), { timeout: 120_000, intervals: [3_000] }).toBe(5_000);
  await allRows();
  const last = rows.nth(4_999).locator('textarea.f-description');
  await last.fill('Последняя строка');
  await expect(syncStatus(page)).toContainText('не отправлено');
  await page.reload();
  await allRows();
  await expect(last).toHaveValue('Последняя строка');
  // The device itself adds no more rows past its own limit, and says why.
  await activities(page).nth(0).getByRole('button', { name: 'Вставить мероприятие ниже' }).click();
  // The count is the roadmap's own, not the limit (a trial read «уже 2500» on 4,001 rows).
  await expect(page.locator('.notice')).toContainText(
    /в дорожной карте уже 5\s000 строк этого вида, а добавлять новые можно, пока их меньше 2\s500/,
  );
});
