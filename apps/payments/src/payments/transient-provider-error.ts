/** The provider did not answer (timeout, 503): the call may or may not have taken effect. Retry it. */
export class TransientProviderError extends Error {
  override readonly name = 'TransientProviderError';
}
