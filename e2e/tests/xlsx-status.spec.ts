// One status vocabulary in every output (issue 18, item 11): an activity
// past its deadline and not done is «Просрочено» on the screen, and so in
// the .xlsx the roadmap downloads as; one a curator marked «Не выполнено»
// stays so there, not an untouched overdue row.
import { inflateRawSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { addActivity, createRoadmap } from '../support/app';
import { expect, test } from '../support/server';

/** One file of a zip archive (what an .xlsx is), by its name. */
function unzipEntry(zip: Buffer, name: string): string {
  // The central directory lists every entry with its local header's offset.
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = zip.readUInt32LE(end + 16);
  const count = zip.readUInt16LE(end + 10);
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + size);
      return (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    }
    at += 46 + nameLength + extra + comment;
  }
  throw new Error(`${name} is not in the archive`);
}

test('an overdue activity is «Просрочено» on screen and in the .xlsx', async ({ page }) => {
  await createRoadmap(page, 'Карта с просроченным мероприятием');
  const row = await addActivity(page, 0, 'Входная диагностика');
  await row.getByLabel('Сроки').fill('январь 2020');
  await expect(row.locator('.deadline-badge')).toHaveText('Просрочено');
  const marked = await addActivity(page, 0, 'Педагогический совет');
  await marked.getByLabel('Сроки').fill('февраль 2020');
  await marked.getByLabel('Статус', { exact: true }).selectOption('not-done');
  await marked.getByRole('button', { name: 'Без пояснения' }).click();
  await expect(marked.locator('.deadline-badge')).toHaveText('Просрочено');

  await page.getByRole('button', { name: 'Экспорт' }).click();
  const [excel] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Excel (.xlsx)' }).click()]);
  const strings = unzipEntry(readFileSync((await excel.path())!), 'xl/sharedStrings.xml');
  expect(strings).toContain('>Просрочено<');
  expect(strings).not.toContain('>Запланировано<');
  expect(strings).toContain('>Не выполнено (просрочено)<');
});
