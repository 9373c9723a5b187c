import { Inject, Injectable } from '@nestjs/common';
import type { PaymentDeclineReason } from '@shop/contracts';
import { DataSource } from 'typeorm';
import { PAYMENTS_SETTINGS, type PaymentsSettings } from '../config/payments.settings';
import { TransientProviderError } from './transient-provider-error';

export type ChargeOutcome = { approved: true; reference: string } | { approved: false; reason: PaymentDeclineReason };

/**
 * A simulated card provider with the one property a real one must have for retries to be safe: an
 * idempotency key. Its ledger lives in its own transactions, apart from ours, as an external system's
 * would. A transient failure happens before the call takes effect or, as often, after it (the
 * response is lost): either way the retry with the same key gets the first result, never a second charge.
 */
@Injectable()
export class CardProvider {
  constructor(
    private readonly db: DataSource,
    @Inject(PAYMENTS_SETTINGS) private readonly settings: PaymentsSettings,
  ) {}

  async charge(key: string, token: string, amount: number): Promise<ChargeOutcome> {
    this.maybeFail('before charging');
    const outcome = await this.record(
      key,
      'charge',
      amount,
      decideCharge(token, amount, this.settings.PAYMENTS_MAX_AMOUNT),
    );
    this.maybeFail('after charging: response lost');
    return outcome === 'approved'
      ? { approved: true, reference: `ch_${key}` }
      : { approved: false, reason: outcome as PaymentDeclineReason };
  }

  async refund(key: string, amount: number): Promise<string> {
    this.maybeFail('before refunding');
    await this.record(key, 'refund', amount, 'refunded');
    this.maybeFail('after refunding: response lost');
    return `re_${key}`;
  }

  /** Whether a charge with this key went through (for an order cancelled while its charge was in doubt). */
  async findApprovedCharge(key: string): Promise<{ amount: number; reference: string } | undefined> {
    this.maybeFail('looking up a charge');
    const [row] = (await this.db.query(
      `SELECT amount FROM provider_ledger WHERE idempotency_key = $1 AND operation = 'charge' AND outcome = 'approved'`,
      [key],
    )) as { amount: string }[];
    return row ? { amount: Number(row.amount), reference: `ch_${key}` } : undefined;
  }

  private async record(key: string, operation: string, amount: number, outcome: string): Promise<string> {
    const [row] = (await this.db.query(
      `WITH inserted AS (
         INSERT INTO provider_ledger (idempotency_key, operation, amount, outcome) VALUES ($1, $2, $3, $4)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING outcome)
       SELECT outcome FROM inserted UNION ALL SELECT outcome FROM provider_ledger WHERE idempotency_key = $1`,
      [key, operation, amount, outcome],
    )) as { outcome: string }[];
    if (!row) throw new TransientProviderError(`concurrent call with idempotency key ${key}`);
    return row.outcome;
  }

  private maybeFail(when: string): void {
    if (Math.random() < this.settings.PAYMENTS_TRANSIENT_FAILURE_RATE / 2) {
      throw new TransientProviderError(`card provider unavailable (${when})`);
    }
  }
}

/** The provider's answer to a charge: test tokens that decline, and a limit on the amount. */
export function decideCharge(token: string, amount: number, maxAmount: number): 'approved' | PaymentDeclineReason {
  if (token === 'tok_declined') return 'card_declined';
  if (token === 'tok_insufficient_funds') return 'insufficient_funds';
  if (amount > maxAmount) return 'amount_limit';
  return 'approved';
}
