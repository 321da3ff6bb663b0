// Who else has a roadmap open (issue 16): one name per person, however
// many tabs or devices they have it open in.
import { createRoadmap, editorLoaded } from '../support/app';
import { expect, signIn, test, TESTER, type Person } from '../support/server';

const OLGA: Person = { login: 'olga', password: 'olga-password-1', role: 'federal-coordinator', name: 'Ольга Сергеевна' };

test.use({ serverOptions: { people: [TESTER, OLGA] } });

test('a person with the roadmap open in three tabs is named once', async ({ browser, page, context, server }) => {
  await signIn(context, server);
  const path = await createRoadmap(page, 'Открыта во многих вкладках');
  await expect.poll(async () => (await context.request.get(`${server.url}/api/roadmaps`)).text(), { timeout: 20_000 })
    .toContain(path.split('/').pop()!);
  for (let i = 0; i < 2; i++) {
    const tab = await context.newPage();
    await tab.goto(path);
    await editorLoaded(tab);
  }
  const olga = await browser.newContext({ baseURL: server.url });
  await signIn(olga, server, OLGA);
  const other = await olga.newPage();
  await other.goto(path);
  await editorLoaded(other);
  const presence = other.locator('.presence');
  await expect(presence).toContainText(TESTER.name!, { timeout: 30_000 });
  // Every tab announces itself every ten seconds: give them all time to.
  await other.waitForTimeout(12_000);
  const text = await presence.innerText();
  expect(text.split(TESTER.name!).length - 1, text).toBe(1);
  await olga.close();
});
