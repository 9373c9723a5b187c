import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Wall-clock ms with sub-ms precision: comparable with PostgreSQL's clock on the same machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Posted {
  /** Wall-clock ms when the request was sent. */
  sentAt: number;
  /** ms until the response arrived. */
  responseMs: number;
  /** The HTTP status; 0 when no answer came (connection error, timeout). */
  status: number;
  orderId?: string;
  /** The Retry-After header of the answer, if it had one (a 503 refusal should). */
  retryAfter?: string;
  /** What went wrong: set for every answer but a 202 with an order id and a 503 (a refusal, not an error). */
  error?: string;
}

/** POSTs JSON bodies to /orders over kept-alive connections, with as little client CPU as possible. */
export class OrderPoster {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private next = 0;

  constructor(private readonly urls: () => string[]) {}

  post(body: string): Promise<Posted> {
    const urls = this.urls();
    const url = new URL('/orders', urls[this.next++ % urls.length]);
    const sentAt = nowMs();
    return new Promise<Posted>((resolve) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const responseMs = nowMs() - sentAt;
            const status = res.statusCode ?? 0;
            const header = res.headers['retry-after'];
            const answer: Posted = { sentAt, responseMs, status, ...(header !== undefined && { retryAfter: header }) };
            if (status === 503) {
              resolve(answer); // refused (admission control): the client is to come back after Retry-After
              return;
            }
            if (status !== 202) {
              resolve({ ...answer, error: `HTTP ${status}: ${Buffer.concat(chunks).toString().slice(0, 200)}` });
              return;
            }
            try {
              const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id?: unknown };
              if (typeof id !== 'string') throw new Error('no order id');
              resolve({ ...answer, orderId: id });
            } catch (err) {
              resolve({ ...answer, error: `bad response: ${(err as Error).message}` });
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
      req.on('error', (err) => resolve({ sentAt, responseMs: nowMs() - sentAt, status: 0, error: err.message }));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Open loop: request i is sent at start + i / rate, whether or not earlier ones were answered (a slow
 * system does not slow the arrivals down, so queueing shows in the latency, as with real customers).
 */
export async function openLoop(
  rate: number,
  seconds: number,
  send: () => Promise<Posted>,
  onTick?: (sent: number, total: number) => void,
): Promise<Posted[]> {
  const total = Math.round(rate * seconds);
  const pending: Array<Promise<Posted>> = [];
  const start = performance.now();
  let lastTick = 0;
  while (pending.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    while (pending.length < due) pending.push(send());
    if (onTick && performance.now() - lastTick > 1000) {
      lastTick = performance.now();
      onTick(pending.length, total);
    }
    const nextAt = start + (pending.length * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextAt - performance.now())));
  }
  return Promise.all(pending);
}

/** Closed loop ("flat out"): `concurrency` customers, each posting again as soon as answered (after Retry-After when refused). */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  send: () => Promise<Posted>,
  onTick?: (sent: number) => void,
): Promise<Posted[]> {
  const results: Posted[] = [];
  const end = performance.now() + seconds * 1000;
  let lastTick = performance.now();
  const worker = async () => {
    while (performance.now() < end) {
      const posted = await send();
      results.push(posted);
      // a customer told to come back later does so (Retry-After), rather than asking again at once
      if (posted.status === 503) {
        const seconds = Number(posted.retryAfter ?? 1);
        await new Promise((resolve) => setTimeout(resolve, 1000 * (Number.isFinite(seconds) ? seconds : 1)));
      }
      if (onTick && performance.now() - lastTick > 1000) {
        lastTick = performance.now();
        onTick(results.length);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}
