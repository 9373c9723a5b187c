import { loadSettings } from '@shop/platform';
import { createTestDatabase, queryCount, type TestDatabase } from '@shop/testing';
import { DataSource } from 'typeorm';
import { paymentsSettings } from '../src/config/payments.settings';
import { Payments1732400000000 } from '../src/migrations/1732400000000-payments';
import { CardProvider } from '../src/payments/card-provider';
import { TransientProviderError } from '../src/payments/transient-provider-error';

/** Math.random's next values, in the order the provider draws them (one before a call takes effect, one after). */
const draws = (...values: number[]) => {
  const spy = jest.spyOn(Math, 'random');
  for (const value of values) spy.mockReturnValueOnce(value);
  spy.mockImplementation(() => {
    throw new Error('the provider drew more random numbers than the test planned');
  });
};

describe("the card provider's ledger, against PostgreSQL", () => {
  let database: TestDatabase;
  let db: DataSource;
  let keys = 0;
  const newKey = () => `charge:test-${++keys}`;

  const provider = (failureRate = 0) =>
    new CardProvider(
      db,
      loadSettings(paymentsSettings, {
        PAYMENTS_TRANSIENT_FAILURE_RATE: String(failureRate),
        PAYMENTS_MAX_AMOUNT: '5000',
      }),
    );
  const ledgerRows = (key: string) =>
    queryCount(db, `SELECT count(*) n FROM provider_ledger WHERE idempotency_key = $1`, [key]);

  beforeAll(async () => {
    database = await createTestDatabase('card_provider');
    db = await new DataSource({
      type: 'postgres',
      url: database.url,
      migrations: [Payments1732400000000],
    }).initialize();
    await db.runMigrations();
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('charges once when a charge is retried with the same idempotency key', async () => {
    const key = newKey();
    const first = await provider().charge(key, 'tok_visa', 1200);
    const retry = await provider().charge(key, 'tok_visa', 1200);
    expect(first).toEqual({ approved: true, reference: `ch_${key}` });
    expect(retry).toEqual(first);
    expect(await ledgerRows(key)).toBe(1);
  });

  it('answers a retry with the first result, even with another card or amount', async () => {
    const key = newKey();
    expect(await provider().charge(key, 'tok_insufficient_funds', 1200)).toEqual({
      approved: false,
      reason: 'insufficient_funds',
    });
    expect(await provider().charge(key, 'tok_visa', 900)).toEqual({ approved: false, reason: 'insufficient_funds' });
    expect(await db.query(`SELECT amount, outcome FROM provider_ledger WHERE idempotency_key = $1`, [key])).toEqual([
      { amount: '1200', outcome: 'insufficient_funds' },
    ]);
  });

  it('declines an amount over PAYMENTS_MAX_AMOUNT with amount_limit', async () => {
    expect(await provider().charge(newKey(), 'tok_visa', 5001)).toEqual({ approved: false, reason: 'amount_limit' });
    expect(await provider().charge(newKey(), 'tok_visa', 5000)).toMatchObject({ approved: true });
  });

  it('charges once when the same key is charged concurrently; the others are told to retry', async () => {
    const key = newKey();
    const card = provider();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => card.charge(key, 'tok_visa', 700)));
    const answered = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    expect(answered.length).toBeGreaterThanOrEqual(1);
    for (const outcome of answered) expect(outcome).toEqual({ approved: true, reference: `ch_${key}` });
    for (const error of refused) expect(error).toBeInstanceOf(TransientProviderError);
    expect(await ledgerRows(key)).toBe(1);
  });

  it('refunds once when a refund is retried with the same key', async () => {
    const key = `refund:test-${++keys}`;
    expect(await provider().refund(key, 800)).toBe(`re_${key}`);
    expect(await provider().refund(key, 800)).toBe(`re_${key}`);
    expect(await db.query(`SELECT operation, amount FROM provider_ledger WHERE idempotency_key = $1`, [key])).toEqual([
      { operation: 'refund', amount: '800' },
    ]);
  });

  describe('findApprovedCharge', () => {
    it('finds an approved charge by its key, with its amount and reference', async () => {
      const key = newKey();
      await provider().charge(key, 'tok_visa', 4321);
      expect(await provider().findApprovedCharge(key)).toEqual({ amount: 4321, reference: `ch_${key}` });
    });

    it('finds nothing for a key never charged, a declined charge or a refund', async () => {
      const declined = newKey();
      await provider().charge(declined, 'tok_declined', 100);
      const refund = `refund:test-${++keys}`;
      await provider().refund(refund, 100);
      expect(await provider().findApprovedCharge(newKey())).toBeUndefined();
      expect(await provider().findApprovedCharge(declined)).toBeUndefined();
      expect(await provider().findApprovedCharge(refund)).toBeUndefined();
    });
  });

  describe('PAYMENTS_TRANSIENT_FAILURE_RATE', () => {
    it('never fails a call when it is 0', async () => {
      jest.spyOn(Math, 'random').mockReturnValue(0);
      const card = provider(0);
      for (let i = 0; i < 10; i++)
        await expect(card.charge(newKey(), 'tok_visa', 100)).resolves.toMatchObject({ approved: true });
      await expect(card.refund(`refund:test-${++keys}`, 100)).resolves.toMatch(/^re_/);
      await expect(card.findApprovedCharge(newKey())).resolves.toBeUndefined();
    });

    it('fails a call before it takes effect with half the rate: nothing is charged', async () => {
      const key = newKey();
      draws(0.19);
      await expect(provider(0.4).charge(key, 'tok_visa', 100)).rejects.toBeInstanceOf(TransientProviderError);
      expect(await ledgerRows(key)).toBe(0);
    });

    it('loses the answer of a charge with the other half: the charge went through, and its retry gets it without a second one', async () => {
      const key = newKey();
      draws(0.21, 0.19);
      await expect(provider(0.4).charge(key, 'tok_visa', 2500)).rejects.toBeInstanceOf(TransientProviderError);
      draws(0.5);
      expect(await provider(0.4).findApprovedCharge(key)).toEqual({ amount: 2500, reference: `ch_${key}` });
      draws(0.5, 0.5);
      expect(await provider(0.4).charge(key, 'tok_visa', 2500)).toEqual({ approved: true, reference: `ch_${key}` });
      expect(await ledgerRows(key)).toBe(1);
    });

    it('fails a refund or a lookup the same way, the refund recorded once whatever its retries', async () => {
      const key = `refund:test-${++keys}`;
      draws(0.1);
      await expect(provider(0.4).refund(key, 300)).rejects.toBeInstanceOf(TransientProviderError);
      expect(await ledgerRows(key)).toBe(0);
      draws(0.3, 0.1);
      await expect(provider(0.4).refund(key, 300)).rejects.toBeInstanceOf(TransientProviderError);
      draws(0.3, 0.3);
      expect(await provider(0.4).refund(key, 300)).toBe(`re_${key}`);
      expect(await ledgerRows(key)).toBe(1);
      draws(0.1);
      await expect(provider(0.4).findApprovedCharge(newKey())).rejects.toBeInstanceOf(TransientProviderError);
    });
  });
});
