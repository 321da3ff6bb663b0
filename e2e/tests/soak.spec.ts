// A real day, compressed: four people on their own devices work on one
// school's roadmap (50+ activities) and its school file. The curator's
// tablet is offline most of the day; two school-team members co-edit; a
// municipal coordinator only reads. Each makes hundreds of changes
// (typing, inserts, moves, statuses, visits, risk factors); tabs are
// reloaded and killed (the renderer crashed) at moments drawn from a seed,
// and the relay is killed and restarted once. At the end every device and
// a fresh one hold the same documents (their heads, read from IndexedDB
// with the JS Automerge), every marker typed anywhere is in them, nothing
// is in quarantine, and every sync indicator says what is true.
// MEDK_SOAK_SEED replays a day; MEDK_SOAK_ROUNDS makes it longer.
import type { BrowserContext, Page } from '@playwright/test';
import { activities, addActivity, editorLoaded, waitForOfflineReady } from '../support/app';
import { device, expect, expectSynced, signInByForm, syncStatus, test } from '../support/accounts';
import { docId, quarantined, storedDocument } from '../support/device';

const SEED = Number(process.env.MEDK_SOAK_SEED ?? 20261206);
const ROUNDS = Number(process.env.MEDK_SOAK_ROUNDS ?? 8);
const ACTIONS_PER_ROUND = 6;

const UNITS = [
  { id: 'r1', parent: 'rf', level: 'region' as const, name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality' as const, name: 'Каменский район' },
  { id: 's1', parent: 'm1', level: 'school' as const, name: 'Школа № 1' },
];
const TEAM_A = { login: 'team-a', password: 'team-a-secret', role: 'school-team', unit: 's1', name: 'Завуч Петрова' };
const TEAM_B = { login: 'team-b', password: 'team-b-secret', role: 'school-team', unit: 's1', name: 'Учитель Сидоров' };
const CURATOR = { login: 'curator', password: 'curator-secret', role: 'curator', unit: 'r1', schools: ['s1'], name: 'Куратор Иванова' };
const MUNI = { login: 'muni', password: 'muni-secret-1', role: 'municipal-coordinator', unit: 'm1', name: 'Координатор Района' };

/** A seeded PRNG (mulberry32): the same seed, the same day. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), chance: (p: number) => next() < p };
}

interface Person {
  who: typeof TEAM_A;
  tag: string;
  context: BrowserContext;
  page: Page;
  /** Markers this person typed into the roadmap / the school file. */
  roadmapMarkers: string[];
  fileMarkers: string[];
  writes: boolean;
}

test('a day of work on four devices: everyone ends with the same documents and nothing typed is lost', async ({ browser, serve }) => {
  test.setTimeout(900_000);
  const rng = random(SEED);
  console.log(`soak seed ${SEED}, ${ROUNDS} rounds`);
  const server = await serve({ units: UNITS, people: [TEAM_A, TEAM_B, CURATOR, MUNI] });

  async function join(who: typeof TEAM_A, tag: string, writes: boolean): Promise<Person> {
    const page = await device(browser, server.url);
    await signInByForm(page, who.login, who.password, who.name);
    await expectSynced(page);
    return { who, tag, context: page.context(), page, roadmapMarkers: [], fileMarkers: [], writes };
  }
  const teamA = await join(TEAM_A, 'a', true);
  const teamB = await join(TEAM_B, 'b', true);
  const curator = await join(CURATOR, 'c', true);
  const muni = await join(MUNI, 'm', false);
  const people = [teamA, teamB, curator, muni];

  // Morning: the school's roadmap, 52 activities in two sections.
  await teamA.page.goto('/');
  await teamA.page.getByRole('button', { name: 'Создать дорожную карту' }).click();
  const form = teamA.page.getByRole('form', { name: 'Новая дорожная карта' });
  await form.getByLabel('Название').fill('Дорожная карта Школы № 1');
  await form.getByRole('button', { name: 'Создать' }).click();
  await expect(teamA.page).toHaveURL(/\/r\//);
  const path = new URL(teamA.page.url()).pathname;
  for (let i = 1; i <= 26; i++) await addActivity(teamA.page, 0, `Мероприятие ${i}`);
  await teamA.page.getByRole('button', { name: '+ Раздел' }).first().click();
  await expect(teamA.page.locator('.section')).toHaveCount(2);
  for (let i = 27; i <= 52; i++) await addActivity(teamA.page, 1, `Мероприятие ${i}`);
  await expectSynced(teamA.page);

  // Everyone has both documents on their device, and the app for offline use.
  for (const p of people) {
    await p.page.goto('/s/s1');
    await expect(p.page.locator('.school-page[data-loaded=true]')).toBeVisible();
    await p.page.goto(path);
    await editorLoaded(p.page);
    await expect(activities(p.page)).toHaveCount(52, { timeout: 15_000 });
    await waitForOfflineReady(p.page);
  }
  const schoolFile = await schoolFileId(muni.page);

  // The curator drives to the school: no signal until the evening.
  await curator.context.setOffline(true);
  await expect(syncStatus(curator.page)).toHaveAttribute('data-state', 'offline', { timeout: 15_000 });

  let serverDown = false;
  let markers = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Once in the afternoon the relay dies for a while.
    if (round === Math.floor(ROUNDS / 2)) {
      await server.kill('SIGKILL');
      serverDown = true;
    }
    if (serverDown && round === Math.floor(ROUNDS / 2) + 2) {
      await server.restart();
      serverDown = false;
    }
    for (const p of shuffled(rng, people)) {
      for (let n = 0; n < ACTIONS_PER_ROUND; n++) {
        const roll = rng.next();
        if (roll < 0.06) {
          await p.page.reload();
          await reopened(p, path);
        } else if (roll < 0.1) {
          await killTab(p, path);
        } else if (!p.writes) {
          // The coordinator reads: the roadmap, the school, the dashboard.
          const where = rng.int(3);
          await p.page.goto(where === 0 ? path : where === 1 ? '/s/s1' : '/monitoring/m1');
          await reopened(p, path);
        } else {
          markers += 1;
          await act(p, rng, `${p.tag}${markers}`, path);
        }
      }
    }
    // While the curator is offline with edits, her indicator says so.
    const status = await syncStatus(curator.page).textContent();
    if (curator.roadmapMarkers.length + curator.fileMarkers.length > 0) {
      expect(status, `the curator's indicator in round ${round}`).toMatch(/не отправлено: [1-9]/);
    }
  }

  // Evening: the curator is back online; everyone syncs.
  if (serverDown) await server.restart();
  await curator.context.setOffline(false);
  for (const p of people) {
    await p.page.goto(path);
    await editorLoaded(p.page);
  }
  for (const p of people) {
    await expect(syncStatus(p.page)).toHaveAttribute('data-state', 'synced', { timeout: 60_000 });
    await expect(syncStatus(p.page)).toHaveText('Всё сохранено на сервере');
  }

  // A fresh device gets the server's copy.
  const fresh = await device(browser, server.url);
  await signInByForm(fresh, MUNI.login, MUNI.password, MUNI.name);
  await fresh.goto('/s/s1');
  await expect(fresh.locator('.school-page[data-loaded=true]')).toBeVisible();
  await fresh.goto(path);
  await editorLoaded(fresh);
  await expectSynced(fresh);

  // Identical documents everywhere (heads settle once every device has
  // heard of everyone's last change).
  const roadmapId = docId(path);
  const everyone = [...people.map((p) => p.page), fresh];
  let expected: { roadmap: string[]; file: string[] } | undefined;
  await expect
    .poll(
      async () => {
        const heads = await Promise.all(
          everyone.map(async (page) => ({
            roadmap: (await storedDocument(page, roadmapId)).heads,
            file: (await storedDocument(page, schoolFile)).heads,
          })),
        );
        expected = heads[heads.length - 1];
        return heads.every((h) => JSON.stringify(h) === JSON.stringify(expected));
      },
      { timeout: 60_000, message: 'every device holds the same heads as a fresh device' },
    )
    .toBe(true);

  // Nothing typed is missing, on any device.
  const roadmap = (await storedDocument(fresh, roadmapId)).value;
  const file = (await storedDocument(fresh, schoolFile)).value;
  const text = (value: unknown) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v));
  const roadmapText = text(roadmap);
  const fileText = text(file);
  const typed = people.flatMap((p) => p.roadmapMarkers);
  const visits = people.flatMap((p) => p.fileMarkers);
  console.log(`${typed.length} roadmap markers, ${visits.length} visits, ${Object.keys(roadmap.activities).length} activities`);
  expect(typed.length).toBeGreaterThan(40);
  for (const marker of typed) expect(roadmapText, `marker ${marker}`).toContain(marker);
  for (const marker of visits) expect(fileText, `visit ${marker}`).toContain(marker);
  for (const page of everyone) {
    expect(await quarantined(page)).toEqual([]);
  }
});

function shuffled<T>(rng: ReturnType<typeof random>, items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** One user action on the roadmap or the school file. */
async function act(p: Person, rng: ReturnType<typeof random>, marker: string, path: string) {
  const page = p.page;
  const onSchool = new URL(page.url()).pathname.startsWith('/s/');
  const roll = rng.next();
  if (p.who === CURATOR && (onSchool || roll < 0.12)) {
    // A visit, recorded on the school screen.
    if (!onSchool) {
      await page.goto('/s/s1');
      await expect(page.locator('.school-page[data-loaded=true]')).toBeVisible();
    }
    await page.getByRole('button', { name: 'Новое посещение' }).click();
    const form = page.getByRole('form', { name: 'Новое посещение' });
    await form.getByLabel('Цель посещения').pressSequentially(`Посещение ${marker}`);
    await form.getByRole('button', { name: 'Сохранить посещение' }).click();
    await expect(page.locator('.visit-list .visit', { hasText: `Посещение ${marker}` })).toBeVisible();
    p.fileMarkers.push(`Посещение ${marker}`);
    await page.goto(path);
    await editorLoaded(page);
    return;
  }
  if (p.who !== CURATOR && (onSchool || roll < 0.08)) {
    // The school's team marks a risk factor as relevant or not.
    if (!onSchool) {
      await page.goto('/s/s1');
      await expect(page.locator('.school-page[data-loaded=true]')).toBeVisible();
    }
    const risks = page.locator('.risks .risk');
    const risk = risks.nth(rng.int(await risks.count()));
    await risk.getByLabel('Актуален для школы').click();
    await page.goto(path);
    await editorLoaded(page);
    return;
  }
  if (onSchool) {
    await page.goto(path);
    await editorLoaded(page);
  }
  const rows = activities(page);
  const count = await rows.count();
  const row = rows.nth(rng.int(count));
  if (roll < 0.6) {
    // Typing into a description: a change per keystroke.
    const field = row.locator('textarea.f-description');
    await field.click();
    // The end of the whole text (End alone stops at the end of a wrapped line).
    await field.press('Control+End');
    await field.pressSequentially(` ‹${marker} проверено›`);
    p.roadmapMarkers.push(`‹${marker} проверено›`);
  } else if (roll < 0.72) {
    const statuses = ['planned', 'in-progress', 'done', 'not-done'];
    await row.getByLabel('Статус').selectOption(statuses[rng.int(statuses.length)]);
  } else if (roll < 0.84) {
    const name = rng.chance(0.5) ? 'Переместить выше' : 'Переместить ниже';
    const button = row.getByRole('button', { name });
    if (await button.isEnabled()) await button.click();
  } else {
    const sectionIndex = rng.int(await page.locator('.section').count());
    const section = page.locator('.section').nth(sectionIndex);
    const rowsHere = section.locator('.row[data-activity]');
    const before = await rowsHere.count();
    await section.getByRole('button', { name: '+ Мероприятие' }).click();
    const added = await expect(rowsHere).toHaveCount(before + 1, { timeout: 3_000 }).then(() => true, () => false);
    if (!added) {
      // A tap that landed while the rows still entering the page moved the button: tapped again, as a person would.
      console.log(`${p.tag}: «+ Мероприятие» did not add a row; tapping again`);
      await section.getByRole('button', { name: '+ Мероприятие' }).click();
    }
    const field = page.locator('.row[data-activity] textarea.f-description:focus');
    await expect(field).toHaveCount(1);
    await field.fill(`Новое ‹${marker}›`);
    p.roadmapMarkers.push(`Новое ‹${marker}›`);
  }
}

/** After a reload or a new tab: waits until the screen has its document. */
async function reopened(p: Person, path: string) {
  const where = new URL(p.page.url()).pathname;
  if (where === path) await editorLoaded(p.page);
  else if (where.startsWith('/s/')) await expect(p.page.locator('.school-page[data-loaded=true]')).toBeVisible();
  else await expect(p.page.locator('main')).toBeVisible();
}

/** Resolves with `promise`, or with `undefined` after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms))]);
}

/**
 * The tab dies at once (its renderer crashes: no unload, no pending
 * transaction commits), and a new one is opened in the same browser.
 */
async function killTab(p: Person, path: string) {
  const session = await p.context.newCDPSession(p.page);
  // The crashed renderer never answers.
  await within(session.send('Page.crash').catch(() => undefined), 1_000);
  await within(p.page.close().catch(() => undefined), 3_000);
  for (let attempt = 0; ; attempt++) {
    const page = await within(p.context.newPage(), 10_000).catch(() => undefined);
    if (page) {
      p.page = page;
      break;
    }
    if (attempt >= 3) throw new Error(`no new tab after killing ${p.tag}'s`);
  }
  await p.page.goto(path);
  await editorLoaded(p.page);
}

/** The id of the school's file on a device (its list record says which). */
async function schoolFileId(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const req = indexedDB.open('medk');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const all: any[] = await new Promise((resolve) => {
      const req = db.transaction('roadmaps').objectStore('roadmaps').getAll();
      req.onsuccess = () => resolve(req.result);
    });
    db.close();
    return all.find((r) => r.kind === 'school' && r.title === 's1').id as string;
  });
}
