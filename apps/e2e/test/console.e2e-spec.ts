import { randomBytes } from 'node:crypto';
import { waitFor } from '@shop/testing';
import type { Browser, Page } from 'playwright-core';
import {
  BridgeClient,
  launchChromium,
  screenshotPath,
  startConsole,
  startSystem,
  stockAdjusted,
  uid,
  waitForProduct,
  watchedPage,
  type ConsoleProcess,
  type ShopClient,
  type System,
  type WatchedPage,
} from '../src/support';

/**
 * The operations console in a browser (Debian's Chromium through playwright-core) against the real
 * apps as processes: an order placed from the catalogue shows each of its steps as it arrives until
 * CONFIRMED; a declined card shows the compensation; a dead letter is listed with its reason,
 * redriven after the fix, applied once, and its queue empties; an app that stops is said to be down.
 * No test may leave an error in the browser's console. Screenshots go to reports/console/.
 */

const ERP_KEY = `erp-${randomBytes(24).toString('hex')}`;
const JAEGER_UI_URL = 'http://jaeger.example:16686';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const STEP_TIMEOUT = 45_000;
const TEST_TIMEOUT = 150_000;

const HAPPY_PATH = ['order.placed', 'inventory.reserved', 'payment.captured', 'order.confirmed', 'notification.sent'];
const DECLINED_PATH = [
  'order.placed',
  'inventory.reserved',
  'payment.declined',
  'order.cancelled',
  'inventory.released',
  'notification.sent',
];
const PRODUCERS: Record<string, string> = {
  'order.placed': 'orders',
  'order.confirmed': 'orders',
  'order.cancelled': 'orders',
  'inventory.reserved': 'inventory',
  'inventory.released': 'inventory',
  'payment.captured': 'payments',
  'payment.declined': 'payments',
  'notification.sent': 'notifications',
};

describe('the operations console in a browser', () => {
  let system: System;
  let client: ShopClient;
  let consoleApp: ConsoleProcess;
  let browser: Browser;
  const pages: WatchedPage[] = [];

  beforeAll(async () => {
    system = await startSystem({
      label: 'console',
      bridge: true,
      env: { bridge: { BRIDGE_PRODUCER_KEYS: `erp=${ERP_KEY}` } },
    });
    client = system.client;
    consoleApp = await startConsole(system, {
      env: { JAEGER_UI_URL, CONSOLE_STATUS_INTERVAL_MS: '1000', CONSOLE_TAIL_INTERVAL_MS: '250' },
    });
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    for (const watched of pages) await watched.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await consoleApp?.stop();
    await system?.stop();
  }, 90_000);

  const open = async (viewport = DESKTOP): Promise<WatchedPage> => {
    const watched = await watchedPage(browser, viewport);
    pages.push(watched);
    await watched.page.goto(consoleApp.url);
    // the system view has been pushed once (every app read)
    await watched.page.locator('[data-testid=apps] tr[data-app=orders]').waitFor({ timeout: 20_000 });
    return watched;
  };

  const closePage = async (watched: WatchedPage) => {
    await watched.context.close();
    pages.splice(pages.indexOf(watched), 1);
  };

  const addToCart = async (page: Page, sku: string, times: number) => {
    const add = page.locator(`[data-testid=catalogue] tr[data-sku="${sku}"] button`);
    await add.waitFor({ timeout: 20_000 });
    for (let i = 0; i < times; i++) await add.click();
  };

  /** Places the cart, returning the order id the page then watches. */
  const placeOrder = async (page: Page, token: string): Promise<string> => {
    await page.getByLabel('Payment token').selectOption(token);
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.locator('[data-testid=order-answer] .notice-ok').waitFor({ timeout: 20_000 });
    const id = await page.locator('[data-testid=order-head] code').getAttribute('title');
    if (!id) throw new Error('the page shows no order id');
    return id;
  };

  const waitForStatus = (page: Page, status: string) =>
    page
      .locator('[data-testid=order-status]', { hasText: new RegExp(`^${status}$`) })
      .waitFor({ timeout: STEP_TIMEOUT });

  /** The steps as the page lists them: type, producer, event id, trace link. */
  const shownSteps = (page: Page) =>
    page.locator('[data-testid=steps] tr[data-step-type]').evaluateAll((rows) =>
      rows.map((row) => ({
        id: row.getAttribute('data-step-id'),
        type: row.getAttribute('data-step-type'),
        producer: row.getAttribute('data-producer'),
        trace: row.querySelector('a')?.getAttribute('href') ?? null,
      })),
    );

  const waitForSteps = async (page: Page, types: string[]) => {
    for (const type of types) {
      await page.locator(`[data-testid=steps] tr[data-step-type="${type}"]`).first().waitFor({ timeout: STEP_TIMEOUT });
    }
  };

  /** Every event the archive holds of the order is shown once, by its producer, with its trace link. */
  const expectStepsMatchArchive = async (page: Page, orderId: string) => {
    const archived = await waitFor(
      async () => {
        const response = await client.http<Array<{ id: string; type: string }>>('orders', `/events?subject=${orderId}`);
        const shown = await shownSteps(page);
        return response.body.length === shown.length ? response.body : false;
      },
      { timeoutMs: 20_000, intervalMs: 250, description: `the page to show every archived event of ${orderId}` },
    );
    const shown = await shownSteps(page);
    expect(shown.map((step) => step.id)).toEqual(archived.map((event) => event.id));
    for (const step of shown) {
      expect(step.producer).toBe(PRODUCERS[step.type ?? ''] ?? step.producer);
      expect(step.trace).toMatch(/^http:\/\/jaeger\.example:16686\/trace\/[0-9a-f]{32}$/);
    }
    return shown;
  };

  const stageStates = (page: Page) =>
    page
      .locator('.stages [data-stage]')
      .evaluateAll((items) =>
        Object.fromEntries(items.map((item) => [item.getAttribute('data-stage'), item.getAttribute('data-state')])),
      );

  it(
    'places an order from the catalogue and shows each step of its saga, by its service, until CONFIRMED',
    async () => {
      const watched = await open();
      const { page } = watched;
      // the seeded catalogue, with prices and stock
      await expect(page.locator('[data-testid=catalogue] tr[data-sku="SKU-1"]').innerText()).resolves.toMatch(
        /Espresso beans.*\$24\.90.*100/s,
      );
      await addToCart(page, 'SKU-1', 2);
      await expect(page.locator('[data-testid=cart]').innerText()).resolves.toMatch(/SKU-1[\s\S]*2[\s\S]*\$49\.80/);

      const orderId = await placeOrder(page, 'tok_visa');
      // the first step shows before the last one is there: they arrive one by one
      await page.locator('[data-testid=steps] tr[data-step-type="order.placed"]').waitFor({ timeout: STEP_TIMEOUT });
      await waitForStatus(page, 'CONFIRMED');
      await waitForSteps(page, HAPPY_PATH);
      const shown = await expectStepsMatchArchive(page, orderId);
      const types = shown.map((step) => step.type);
      expect(types[0]).toBe('order.placed');
      expect(types.indexOf('order.confirmed')).toBeGreaterThan(types.indexOf('payment.captured'));
      expect(types.indexOf('order.confirmed')).toBeGreaterThan(types.indexOf('inventory.reserved'));
      expect(await stageStates(page)).toEqual({
        Placed: 'done',
        Reserved: 'done',
        Captured: 'done',
        Confirmed: 'done',
        Notified: 'done',
      });
      await expect(page.locator('[data-testid=order-head]').innerText()).resolves.toMatch(/\$49\.80/);
      await page
        .locator('[data-testid=notifications] li[data-type=ORDER_CONFIRMED]')
        .waitFor({ timeout: STEP_TIMEOUT });
      await page.waitForTimeout(300);
      await page.screenshot({ path: screenshotPath('order-confirmed-1280x800'), fullPage: true });
      await page.screenshot({ path: screenshotPath('order-confirmed-viewport-1280x800') });
      expect(watched.errors).toEqual([]);
      await closePage(watched);
    },
    TEST_TIMEOUT,
  );

  it(
    'shows the compensation of a declined card: refused capture, cancellation, stock released, customer told',
    async () => {
      const watched = await open();
      const { page } = watched;
      await addToCart(page, 'SKU-2', 1);
      const orderId = await placeOrder(page, 'tok_declined');
      await waitForStatus(page, 'CANCELLED');
      await expect(page.locator('[data-testid=order-reason]').innerText()).resolves.toBe('PAYMENT_DECLINED');
      await waitForSteps(page, DECLINED_PATH);
      const shown = await expectStepsMatchArchive(page, orderId);
      expect(shown.map((step) => step.type)).not.toContain('payment.captured');
      expect(await stageStates(page)).toMatchObject({
        Placed: 'done',
        Reserved: 'done',
        Captured: 'failed',
        Confirmed: 'failed',
      });
      // the compensation path is marked as such
      const compensation = await page
        .locator('[data-testid=steps] tr.step-compensation')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-step-type')));
      expect(compensation).toEqual(
        expect.arrayContaining(['payment.declined', 'order.cancelled', 'inventory.released', 'notification.sent']),
      );
      await page
        .locator('[data-testid=notifications] li[data-type=ORDER_CANCELLED]')
        .waitFor({ timeout: STEP_TIMEOUT });
      await page.waitForTimeout(300);
      await page.screenshot({ path: screenshotPath('order-declined-1280x800'), fullPage: true });
      expect(watched.errors).toEqual([]);
      await closePage(watched);
    },
    TEST_TIMEOUT,
  );

  it(
    'lists a dead letter with its reason, redrives it after the fix, applies it once and empties the queue',
    async () => {
      const watched = await open();
      const { page } = watched;
      await page.locator('[data-testid=no-dead-letters]').waitFor({ timeout: 20_000 });

      // the poison: the ERP counts in stock of a product inventory does not know yet
      const sku = `SKU-CONSOLE-${uid()}`.toUpperCase();
      const bridge = new BridgeClient(client, { producer: ERP_KEY });
      const poison = stockAdjusted(sku, 7);
      await bridge.published(poison);

      const row = page.locator(`[data-testid=dead-letters] tr[data-message-id="${poison.id}"]`);
      await row.waitFor({ timeout: STEP_TIMEOUT });
      await expect(row.getAttribute('data-reason')).resolves.toBe('rejected');
      await expect(row.innerText()).resolves.toMatch(
        /inventory\.stock\.on-adjusted[\s\S]*stock\.adjusted[\s\S]*rejected/,
      );
      await page.screenshot({ path: screenshotPath('dead-letter-listed-1280x800'), fullPage: true });

      // the fix: the product now exists (with nothing in stock); then the redrive, from the page
      await client.putProduct(sku, { name: 'Console demo grinder', price: 4_500, available: 0 });
      await row.getByRole('checkbox').check();
      await page.getByRole('button', { name: 'Redrive selected (1)' }).click();
      await page
        .locator('[data-testid=redrive-result]', { hasText: 'inventory.stock.on-adjusted: 1 redriven' })
        .waitFor({
          timeout: 30_000,
        });
      // the queue empties on the page
      await row.waitFor({ state: 'detached', timeout: 30_000 });
      await page.locator('[data-testid=no-dead-letters]').waitFor({ timeout: 30_000 });
      await page.screenshot({ path: screenshotPath('dead-letter-redrive-result-1280x800'), fullPage: true });

      // the effect, once: 7 counted in, and still 7 a moment later
      await waitForProduct(client, sku, { available: 7, reserved: 0 });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await expect(client.getProduct(sku)).resolves.toMatchObject({ available: 7, reserved: 0 });
      const deadLetters = await client.http<unknown[]>(
        'inventory',
        '/admin/dead-letters?queue=inventory.stock.on-adjusted',
      );
      expect(deadLetters.body).toEqual([]);
      // and the catalogue shows it
      await page.reload();
      await expect(
        page.locator(`[data-testid=catalogue] tr[data-sku="${sku}"]`).innerText({ timeout: 20_000 }),
      ).resolves.toMatch(/Console demo grinder[\s\S]*\$45\.00[\s\S]*7/);
      await page.locator('[data-testid=no-dead-letters]').waitFor({ timeout: 20_000 });
      await page.screenshot({ path: screenshotPath('dead-letter-redriven-1280x800'), fullPage: true });
      expect(watched.errors).toEqual([]);
      await closePage(watched);
    },
    TEST_TIMEOUT,
  );

  it(
    'is usable with the keyboard alone on a phone-width screen, without scrolling sideways',
    async () => {
      const watched = await open(PHONE);
      const { page } = watched;
      const add = page.locator('[data-testid=catalogue] tr[data-sku="SKU-4"] button');
      await add.waitFor({ timeout: 20_000 });
      await add.focus();
      await page.keyboard.press('Enter');
      await page.keyboard.press('Enter');
      const token = page.getByLabel('Payment token');
      await token.focus();
      await token.selectOption('tok_visa');
      await page.getByRole('button', { name: 'Place order' }).focus();
      await page.keyboard.press('Enter');
      await waitForStatus(page, 'CONFIRMED');
      await waitForSteps(page, HAPPY_PATH);
      const width = await page.locator('html').evaluate((html) => html.scrollWidth);
      expect(width).toBeLessThanOrEqual(PHONE.width);
      await page.waitForTimeout(300);
      await page.screenshot({ path: screenshotPath('order-confirmed-390x844'), fullPage: true });
      await page.screenshot({ path: screenshotPath('order-confirmed-viewport-390x844') });
      expect(watched.errors).toEqual([]);
      await closePage(watched);
    },
    TEST_TIMEOUT,
  );

  it(
    'says which app is down, and that it is back, instead of showing a blank panel',
    async () => {
      const desktop = await open();
      const phone = await open(PHONE);
      await system.stopApp('payments');
      for (const { page } of [desktop, phone]) {
        await page
          .locator('[data-testid=alert-payments]', { hasText: /payments is down/ })
          .waitFor({ timeout: 20_000 });
        await page.locator('[data-testid=apps] tr[data-app=payments][data-state=down]').waitFor({ timeout: 20_000 });
        await page.locator('[data-testid=chip-payments]', { hasText: 'down' }).waitFor({ timeout: 20_000 });
      }
      await expect(desktop.page.locator('[data-testid=alert-payments]').innerText()).resolves.toMatch(
        /payments is down.*(connection refused|does not answer)/s,
      );
      await desktop.page.screenshot({ path: screenshotPath('app-down-1280x800'), fullPage: true });
      await phone.page.screenshot({ path: screenshotPath('app-down-390x844') });

      await system.startApp('payments');
      await desktop.page
        .locator('[data-testid=apps] tr[data-app=payments][data-state=up]')
        .waitFor({ timeout: 30_000 });
      await desktop.page.locator('[data-testid=alert-payments]').waitFor({ state: 'detached', timeout: 10_000 });
      expect(desktop.errors).toEqual([]);
      expect(phone.errors).toEqual([]);
      await closePage(desktop);
      await closePage(phone);
    },
    TEST_TIMEOUT,
  );
});
