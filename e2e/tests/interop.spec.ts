// The official automerge-repo JS client (npm @automerge/automerge-repo 2.x
// with its WebSocket adapter, one Node process per step) against a real
// medk-server, and against the medk app in the browser. The relay syncs only
// for signed-in people: each test signs the server's federal coordinator in
// once and hands the session cookie to every client process (signing in
// per process would run into the server's sign-in throttle).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, expect, signIn, TESTER, type MedkServer } from '../support/server';
import { activities, descriptions } from '../support/app';

const CLIENT = fileURLToPath(new URL('../interop/js-client.mjs', import.meta.url));

interface Run {
  code: number;
  out: any;
  stderr: string;
}

/** The session cookie (`medk_session=...`) of TESTER on `server`, signed in once per server. */
const sessions = new WeakMap<MedkServer, Promise<string>>();
function session(server: MedkServer): Promise<string> {
  let cookie = sessions.get(server);
  if (!cookie) {
    cookie = (async () => {
      const res = await fetch(`${server.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: TESTER.login, password: TESTER.password }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('medk_session='));
      expect(cookie).toBeTruthy();
      return cookie!;
    })();
    sessions.set(server, cookie);
  }
  return cookie;
}

/**
 * Runs one js-client command in its own Node process, with TESTER's session
 * ($MEDK_COOKIE) unless `env` says otherwise.
 */
async function js(server: MedkServer, command: string, ...args: string[]): Promise<Run> {
  return jsWith(server, { MEDK_COOKIE: await session(server) }, command, ...args);
}

function jsWith(server: MedkServer, env: Record<string, string>, command: string, ...args: string[]): Promise<Run> {
  const url = `ws://127.0.0.1:${server.port}/sync`;
  const { MEDK_COOKIE, MEDK_LOGIN, MEDK_PASSWORD, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile('node', [CLIENT, command, '--url', url, ...args], { timeout: 30_000, env: { ...inherited, ...env } }, (error, stdout, stderr) => {
      const lines = stdout.trim().split('\n').filter(Boolean);
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, out: lines.length ? JSON.parse(lines[lines.length - 1]) : null, stderr });
    });
  });
}

function ok(run: Run): any {
  expect(run.code, run.stderr).toBe(0);
  return run.out;
}

test('a JS client creates a document through medk-server; another JS process finds and edits it', async ({ server }) => {
  // Without a session the relay refuses the upgrade (401): exit 3.
  const refused = await jsWith(server, {}, 'create', '--text', 'без входа', '--timeout-ms', '5000');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('401');
  const wrong = await jsWith(server, { MEDK_LOGIN: TESTER.login, MEDK_PASSWORD: 'not the password' }, 'create', '--text', 'x');
  expect(wrong.code, wrong.stderr).toBe(3);

  // The client signs in itself (POST /api/login) and syncs with the cookie.
  // What it creates is a roadmap in medk's layout, under the id its origin
  // gives (the relay registers nothing else).
  const { url } = ok(
    await jsWith(server, { MEDK_LOGIN: TESTER.login, MEDK_PASSWORD: TESTER.password }, 'create', '--text', 'создано в JS'),
  );
  expect(url).toMatch(/^automerge:/);

  const found = ok(await js(server, 'find', '--doc', url, '--expect-key', 'header.title', '--expect-value', 'создано в JS'));
  expect(found.doc.header.title).toBe('создано в JS');

  // A live edit: one process waits, another edits.
  const key = 'activities.a1.description';
  const waiting = js(server, 'wait', '--doc', url, '--key', key, '--value', 'правка', '--timeout-ms', '15000');
  ok(await js(server, 'edit', '--doc', url, '--key', key, '--value', 'правка'));
  expect(ok(await waiting).doc.activities.a1.description).toBe('правка');

  // Stored, not just relayed: it survives a restart of the relay (and so
  // does the session).
  await server.kill('SIGKILL');
  await server.restart();
  ok(await js(server, 'find', '--doc', url, '--expect-key', key, '--expect-value', 'правка'));

  // A document nobody has is unavailable (exit code 2), not a hang.
  const missing = await js(server, 'find', '--doc', 'automerge:2j9knpCseyhnK8izDmLpGP5WMdZQ', '--timeout-ms', '5000');
  expect(missing.code).toBe(2);
});

test('presence (ephemeral messages) reaches the other JS client once and not its sender', async ({ server }) => {
  const { url } = ok(await js(server, 'create', '--text', 'presence'));
  const listener = js(server, 'listen', '--doc', url, '--timeout-ms', '15000');
  // Give the listener time to join the document.
  await new Promise((r) => setTimeout(r, 1500));
  const sent = ok(await js(server, 'broadcast', '--doc', url, '--message', '{"cursor":3}', '--linger-ms', '1000'));
  expect(sent.received).toEqual([]);
  expect(ok(await listener).ephemeral.message).toEqual({ cursor: 3 });
});

test('the app opens a roadmap a JS client created, and the JS client sees the app edit', async ({ page, server }) => {
  const { url } = ok(await js(server, 'create', '--text', 'Карта из JS', '--activity', 'Создано клиентом JS'));
  const id = url.replace('automerge:', '');

  await signIn(page.context(), server);
  await page.goto(`/r/${id}`);
  expect(await descriptions(page)).toEqual(['Создано клиентом JS']);
  await expect(page.getByLabel('Название дорожной карты')).toHaveValue('Карта из JS');

  const waiting = js(server, 'wait', '--doc', url, '--key', 'activities.a1.description', '--value', 'Создано клиентом JS и исправлено в приложении', '--timeout-ms', '20000');
  const field = activities(page).nth(0).locator('textarea.f-description');
  await field.press('Control+End');
  await field.pressSequentially(' и исправлено в приложении');
  expect(ok(await waiting).doc.activities.a1.description).toBe('Создано клиентом JS и исправлено в приложении');

  // And the other way: the JS client's edit shows in the open app.
  ok(await js(server, 'edit', '--doc', url, '--key', 'activities.a1.responsible', '--value', 'Иванова И. И.'));
  await expect(activities(page).nth(0).locator('textarea.f-responsible')).toHaveValue('Иванова И. И.', { timeout: 5_000 });
});

test('a JS client that breaks its roadmap is refused: everyone, the app too, keeps it whole', async ({ page, server }) => {
  const { url } = ok(await js(server, 'create', '--text', 'Целая карта', '--activity', 'Мероприятие'));
  // What a school-team member's client sent on their own roadmap.
  const vandal = ok(await js(server, 'vandalize', '--doc', url));
  expect(vandal.acknowledged).toBe(false);
  const found = ok(await js(server, 'find', '--doc', url, '--expect-key', 'header.title', '--expect-value', 'Целая карта'));
  expect(found.doc.schema).toBe(1);
  expect(found.doc.sections.s1.title).toBe('1. Раздел');

  await signIn(page.context(), server);
  await page.goto(`/r/${url.replace('automerge:', '')}`);
  await expect(page.getByLabel('Название дорожной карты')).toHaveValue('Целая карта');
  expect(await descriptions(page)).toEqual(['Мероприятие']);
  await expect(page.locator('.note.problems')).toBeHidden();
});

test('the relay announces a storageId: getSyncInfo tells a JS client what the relay stored', async ({ server }) => {
  const made = ok(await js(server, 'create', '--text', 'sync info', '--activity', 'x'));
  expect(made.storageId).toMatch(/^medk-relay-/);
  expect(made.syncHeads).toEqual(made.heads);
  // The same storage after a restart: a new client's edit is recorded under it.
  await server.kill('SIGTERM');
  await server.restart();
  const edited = ok(await js(server, 'edit', '--doc', made.url, '--key', 'activities.a1.description', '--value', 'y'));
  expect(edited.storageId).toBe(made.storageId);
  expect(edited.syncHeads).toEqual(edited.heads);
});

test('a frame over 16 MiB from a JS client is closed with 1009', async ({ server }) => {
  for (const megabytes of ['17', '40']) {
    const closed = ok(await js(server, 'send-big', '--megabytes', megabytes));
    expect(closed.code, `${megabytes} MiB`).toBe(1009);
  }
});
