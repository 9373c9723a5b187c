import { waitFor } from '@shop/testing';
import { CardProvider, type ChargeOutcome } from '../../src/payments/card-provider';

/** What a test does at a step of the provider: wait on a gate, or throw as an outage would. */
export type ProviderStep = (key: string) => Promise<void>;

/**
 * The app's own CardProvider (its real ledger in the test's database), with steps a test can put
 * before and after a charge and before a lookup: the payments service calls them while it holds the
 * order's row lock, which is where the capture/cancel interleavings are decided.
 */
export class ScriptedCardProvider extends CardProvider {
  beforeCharge?: ProviderStep;
  afterCharge?: ProviderStep;
  beforeLookup?: ProviderStep;

  reset(): void {
    this.beforeCharge = this.afterCharge = this.beforeLookup = undefined;
  }

  override async charge(key: string, token: string, amount: number): Promise<ChargeOutcome> {
    await this.beforeCharge?.(key);
    const outcome = await super.charge(key, token, amount);
    await this.afterCharge?.(key);
    return outcome;
  }

  override async findApprovedCharge(key: string): Promise<{ amount: number; reference: string } | undefined> {
    await this.beforeLookup?.(key);
    return super.findApprovedCharge(key);
  }
}

/** A step that says it was reached, then waits until the test opens it. */
export class Gate {
  private arrived = false;
  private release?: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.release = resolve));

  readonly step: ProviderStep = async () => {
    this.arrived = true;
    await this.opened;
  };

  /** Resolves once a call waits at the gate. */
  reached(): Promise<true> {
    return waitFor(() => this.arrived, { description: 'a call to reach the gate', timeoutMs: 30_000 });
  }

  open(): void {
    this.release?.();
  }
}
