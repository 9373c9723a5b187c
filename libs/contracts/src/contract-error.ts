export type ContractErrorReason =
  | 'unparseable'
  | 'invalid-envelope'
  | 'unknown-type'
  | 'unknown-version'
  | 'schema-invalid';

/** A message that does not honour the contract; `reason` is what a dead-letter queue records. */
export class ContractError extends Error {
  override readonly name = 'ContractError';

  constructor(
    readonly reason: ContractErrorReason,
    message: string,
    /** The validator's issues (zod issues) when `reason` is 'schema-invalid' or 'invalid-envelope'. */
    readonly issues?: unknown,
  ) {
    super(message);
  }
}
