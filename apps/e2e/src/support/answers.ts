import type { Answer } from './shop-client';

/** How many answers of each status (`no answer` for a failed connection), statuses in order. */
export function countByStatus(answers: readonly Answer[]): Record<string, number> {
  const counts = new Map<number, number>();
  for (const answer of answers) counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
  return Object.fromEntries(
    [...counts].sort(([a], [b]) => a - b).map(([status, n]) => [status === 0 ? 'no answer' : String(status), n]),
  );
}

/**
 * What a client must never see, even while a dependency is down: a 5xx other than 503 (a 500 says
 * "bug"), or a 503 without Retry-After (a client would not know when to come back). One line per
 * kind of violation, with its count and an example.
 */
export function answerViolations(answers: readonly Answer[]): string[] {
  const found = new Map<string, { count: number; example: Answer }>();
  for (const answer of answers) {
    const kind =
      answer.status >= 500 && answer.status !== 503
        ? `${answer.app} ${answer.what} answered ${answer.status}`
        : answer.status === 503 && !answer.retryAfter
          ? `${answer.app} ${answer.what} answered 503 without Retry-After`
          : undefined;
    if (!kind) continue;
    const seen = found.get(kind);
    if (seen) seen.count++;
    else found.set(kind, { count: 1, example: answer });
  }
  return [...found].map(
    ([kind, { count, example }]) => `${kind} (${count}x, e.g. ${JSON.stringify(example.message ?? [])})`,
  );
}
