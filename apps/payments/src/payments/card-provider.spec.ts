import { decideCharge } from './card-provider';

describe("the card provider's decision on a charge", () => {
  const LIMIT = 1_000_000;

  it('approves a good card for an amount within the limit, the limit itself included', () => {
    expect(decideCharge('tok_visa', 1, LIMIT)).toBe('approved');
    expect(decideCharge('tok_visa', LIMIT, LIMIT)).toBe('approved');
  });

  it('declines tok_declined as card_declined and tok_insufficient_funds as insufficient_funds', () => {
    expect(decideCharge('tok_declined', 100, LIMIT)).toBe('card_declined');
    expect(decideCharge('tok_insufficient_funds', 100, LIMIT)).toBe('insufficient_funds');
  });

  it('declines an amount over the limit as amount_limit', () => {
    expect(decideCharge('tok_visa', LIMIT + 1, LIMIT)).toBe('amount_limit');
  });

  it("gives the card's own refusal before the amount limit", () => {
    expect(decideCharge('tok_declined', LIMIT + 1, LIMIT)).toBe('card_declined');
    expect(decideCharge('tok_insufficient_funds', LIMIT + 1, LIMIT)).toBe('insufficient_funds');
  });
});
