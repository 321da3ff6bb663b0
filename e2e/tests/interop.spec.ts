// The official automerge-repo JS client (npm @automerge/automerge-repo 2.x
// with its WebSocket adapter, one Node process per step) against a real
// medk-server, and against the medk app in the browser.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, expect, type MedkServer } from '../support/server';
import { activities, descriptions } from '../support/app';

const CLIENT = fileURLToPath(new URL('../interop/js-client.mjs', import.meta.url));

interface Run {
  code: number;
  out: any;
  stderr: string;
}

/** Runs one js-client command in its own Node process. */
function js(server: MedkServer, command: string, ...args: string[]): Promise<Run> {
  const url = `ws://127.0.0.1:${server.port}/sync`;
  return new Promise((resolve) => {
    execFile('node', [CLIENT, command, '--url', url, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
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
  const { url } = ok(await js(server, 'create', '--text', 'создано в JS'));
  expect(url).toMatch(/^automerge:/);

  const found = ok(await js(server, 'find', '--doc', url, '--expect-key', 'note', '--expect-value', 'создано в JS'));
  expect(found.doc.note).toBe('создано в JS');

  // A live edit: one process waits, another edits.
  const waiting = js(server, 'wait', '--doc', url, '--key', 'status', '--value', 'правка', '--timeout-ms', '15000');
  ok(await js(server, 'edit', '--doc', url, '--key', 'status', '--value', 'правка'));
  expect(ok(await waiting).doc.status).toBe('правка');

  // Stored, not just relayed: it survives a restart of the relay.
  await server.kill('SIGKILL');
  await server.restart();
  ok(await js(server, 'find', '--doc', url, '--expect-key', 'status', '--expect-value', 'правка'));

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
  const { url } = ok(await js(server, 'create-roadmap', '--text', 'Карта из JS', '--activity', 'Создано клиентом JS'));
  const id = url.replace('automerge:', '');

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
