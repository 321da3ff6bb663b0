// The editor at the two tablet sizes we design for: a table at 1024×768
// (landscape), cards at 800×1280 (portrait). Screenshots are kept in
// test-results/ for a person to look at; the test checks what a person
// would look for first.
import { test, expect } from '../support/server';
import { addActivity, createRoadmap, setSectionTitle } from '../support/app';

for (const size of [
  { width: 1024, height: 768, layout: 'table' },
  { width: 800, height: 1280, layout: 'cards' },
]) {
  test(`editor at ${size.width}×${size.height} shows ${size.layout}`, async ({ page }, info) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    await createRoadmap(page, 'Дорожная карта школы на 2022 год');
    await setSectionTitle(page, 0, '1. Организационное сопровождение');
    const row = await addActivity(page, 0, 'Проведение заседания рабочей группы по реализации проекта');
    await row.getByLabel('Сроки').fill('январь 2022');
    await row.getByLabel('Ответственный исполнитель').fill('Директор школы');
    await page.locator('.doc-title').focus();

    const shot = info.outputPath(`editor-${size.width}x${size.height}.png`);
    await page.screenshot({ path: shot, fullPage: false });
    await info.attach('screenshot', { path: shot, contentType: 'image/png' });

    // The main labels are on screen, not clipped away.
    await expect(page.getByRole('button', { name: 'Отменить' })).toBeInViewport();
    await expect(page.getByText('Раздел 1')).toBeInViewport();
    await expect(row.getByLabel('Статус')).toBeInViewport();
    const header = page.locator('.sheet-head');
    const description = row.locator('textarea.f-description');
    await expect(description).toBeInViewport();
    const box = (await description.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(size.width);
    if (size.layout === 'table') {
      await expect(header).toBeVisible();
      await expect(header).toContainText('Содержание мероприятия');
      await expect(header).toContainText('Сроки');
      // One row: the deadline sits right of the description.
      const deadline = (await row.getByLabel('Сроки').boundingBox())!;
      expect(deadline.x).toBeGreaterThan(box.x + box.width - 1);
    } else {
      await expect(header).toBeHidden();
      // A card: every field carries its own label, fields stack.
      const label = await row.locator('.col-description').evaluate((el) => getComputedStyle(el, '::before').content);
      expect(label).toContain('Содержание мероприятия');
      const deadline = (await row.getByLabel('Сроки').boundingBox())!;
      expect(deadline.y).toBeGreaterThan(box.y + box.height - 1);
      expect(box.width).toBeGreaterThan(size.width * 0.7);
    }
    // Touch targets are at least 40px.
    const buttons = await row.getByRole('button').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    for (const h of buttons) expect(h).toBeGreaterThanOrEqual(40);
  });
}
