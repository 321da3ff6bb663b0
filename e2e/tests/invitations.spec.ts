// Invitations carry the invitee's name and show who accepted (issue 18,
// item 7): a municipal coordinator invites two teachers to one school's
// team; the two invitations are told apart by name, and once one is
// accepted the list says by whom.
import { device, expect, signedIn, test } from '../support/accounts';

const UNITS = [
  { id: 'r1', parent: 'rf', level: 'region' as const, name: 'Каменская область' },
  { id: 'm1', parent: 'r1', level: 'municipality' as const, name: 'Каменский район' },
  { id: 's4', parent: 'm1', level: 'school' as const, name: 'МОУ СОШ № 4' },
];
const MUNI = { login: 'muni', password: 'muni-secret-1', role: 'municipal-coordinator', unit: 'm1', name: 'Координатор Петрова' };

test('two invitations to one school team are told apart by name, and show who accepted', async ({ browser, serve }) => {
  const server = await serve({ units: UNITS, people: [MUNI] });
  const muni = await signedIn(browser, server.url, MUNI);
  await muni.goto('/people');
  const form = muni.getByRole('form', { name: 'Новое приглашение' });
  const links: string[] = [];
  for (const name of ['Иванов Иван Иванович', 'Сидорова Мария Петровна']) {
    await form.getByLabel('Роль').selectOption({ label: 'Команда школы' });
    await form.getByLabel('Организация').selectOption('s4');
    await form.getByLabel('Кого приглашаете (ФИО)').fill(name);
    await form.getByRole('button', { name: 'Создать приглашение' }).click();
    await expect(muni.locator('li.invitation', { hasText: name })).toContainText('Команда школы, МОУ СОШ № 4');
    links.push(await muni.locator('.invite-link').getByLabel('Ссылка-приглашение').inputValue());
  }
  await expect(form.getByLabel('Кого приглашаете (ФИО)')).toHaveValue('');

  // The first one is accepted; the teacher leaves the name as invited.
  const teacher = await device(browser, server.url);
  await teacher.goto(links[0]);
  await teacher.getByLabel('Логин').fill('ivanov');
  await teacher.getByLabel('Пароль', { exact: true }).fill('teacher-secret-1');
  await teacher.getByLabel('Пароль ещё раз').fill('teacher-secret-1');
  await teacher.getByRole('button', { name: 'Принять приглашение' }).click();
  await expect(teacher.locator('.account-name')).toHaveText('Иванов Иван Иванович');

  await muni.reload();
  const accepted = muni.locator('li.invitation', { hasText: 'Иванов Иван Иванович' });
  await expect(accepted.locator('.accepted-by')).toHaveText('Принято: Иванов Иван Иванович (ivanov)');
  await expect(accepted.getByRole('button', { name: 'Отозвать' })).toBeHidden();
  const waiting = muni.locator('li.invitation', { hasText: 'Сидорова Мария Петровна' });
  await expect(waiting).toContainText('действует до');
  await expect(waiting.getByRole('button', { name: 'Отозвать' })).toBeVisible();
  // An accepted link opens nothing.
  const again = await device(browser, server.url);
  await again.goto(links[0]);
  await expect(again.getByRole('alert')).toContainText('Приглашение не найдено');
});
