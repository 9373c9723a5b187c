/** What an error body must never show: a stack frame, a path of the server, a driver's error. */
export const INTERNALS =
  /\bat [\w.<>]+ \(|\n\s+at |node_modules|\/work\/|dist\/apps|QueryFailedError|typeorm|\.[jt]s:\d+/i;

/** One HTTP answer to a fuzzed request. */
export interface FuzzAnswer {
  /** The request, for the error message. */
  what: string;
  status: number;
  contentType: string;
  text: string;
}

/**
 * The HTTP fuzzers' verdict on answers: each must be one of the accepted 2xx, or a 4xx in SPEC.md's
 * error shape (`{statusCode, error, message: [...]}`, JSON, no internals); never a 5xx. Counts the
 * answers by endpoint and status, for the summary printed at the end (how much each endpoint reached).
 */
export class FuzzAnswers {
  private readonly tally = new Map<string, Map<number, number>>();

  check(endpoint: string, answer: FuzzAnswer, accepted: number[]): void {
    const { what, status, text } = answer;
    const counts = this.tally.get(endpoint) ?? new Map<number, number>();
    this.tally.set(endpoint, counts.set(status, (counts.get(status) ?? 0) + 1));
    if (status >= 200 && status < 300) {
      if (!accepted.includes(status)) throw new Error(`${what}: unexpected ${status}: ${text.slice(0, 300)}`);
      return;
    }
    if (status < 400 || status >= 500) throw new Error(`${what}: answered ${status}: ${text.slice(0, 500)}`);
    if (!/^application\/json/.test(answer.contentType)) {
      throw new Error(`${what}: a ${status} in ${answer.contentType}: ${text.slice(0, 300)}`);
    }
    const body = JSON.parse(text) as { statusCode?: unknown; error?: unknown; message?: unknown };
    const shaped =
      body.statusCode === status &&
      typeof body.error === 'string' &&
      Array.isArray(body.message) &&
      body.message.length > 0 &&
      body.message.every((m) => typeof m === 'string');
    if (!shaped) throw new Error(`${what}: a ${status} not in the error shape: ${text.slice(0, 300)}`);
    if (INTERNALS.test(text)) throw new Error(`${what}: internals in a ${status}: ${text.slice(0, 500)}`);
  }

  /** `POST /events: 202×151 400×...`, one line per endpoint. */
  summary(): string {
    return [...this.tally]
      .map(
        ([endpoint, counts]) =>
          `${endpoint}: ${[...counts]
            .sort(([a], [b]) => a - b)
            .map(([status, n]) => `${status}×${n}`)
            .join(' ')}`,
      )
      .join('\n');
  }
}
