import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { CONSOLE_SETTINGS, type ConsoleSettings } from '../config/console.settings';
import type { OrderView } from '../contract';
import type { SseStream } from '../http/sse';
import { errorText, Upstream } from '../upstream/upstream';
import { toStep, type ArchivedEvent, type SagaStep } from './saga-step';

/** An order whose saga is over, and quiet this long, is looked up less often. */
const QUIET_AFTER_FINAL_MS = 15_000;
const QUIET_INTERVAL_MS = 2_000;
const PAGE = 100;

/**
 * Follows the archive of the orders being watched (GET /events?subject=<id>&after=<last id>) every
 * CONSOLE_TAIL_INTERVAL_MS while at least one page watches it, and pushes each new event to every
 * page that watches it as a saga step; one follower per order, whatever the number of pages. A page
 * that connects (or reconnects with Last-Event-ID) first gets what it has not seen.
 */
@Injectable()
export class OrderTails implements OnApplicationShutdown {
  private readonly logger = new Logger('OrderTails');
  private readonly tails = new Map<string, Tail>();

  constructor(
    private readonly upstream: Upstream,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  watch(orderId: string, stream: SseStream): void {
    let tail = this.tails.get(orderId);
    if (!tail) {
      tail = new Tail(orderId, this.upstream, this.settings, this.logger, () => this.tails.delete(orderId));
      this.tails.set(orderId, tail);
    }
    tail.add(stream);
  }

  onApplicationShutdown(): void {
    for (const tail of this.tails.values()) tail.stop();
    this.tails.clear();
  }
}

class Tail {
  private readonly steps: SagaStep[] = [];
  private readonly seen = new Set<string>();
  private readonly streams = new Set<SseStream>();
  private order?: OrderView;
  private problem: string | null = null;
  private running = false;
  private stopped = false;
  private lastNewAt = Date.now();
  private timer?: NodeJS.Timeout;
  private wake?: () => void;

  constructor(
    private readonly orderId: string,
    private readonly upstream: Upstream,
    private readonly settings: ConsoleSettings,
    private readonly logger: Logger,
    private readonly onIdle: () => void,
  ) {}

  add(stream: SseStream): void {
    this.streams.add(stream);
    stream.onClose(() => {
      this.streams.delete(stream);
      if (!this.streams.size) this.stop();
    });
    // catch-up: what this page has not seen (all, or what follows its Last-Event-ID)
    const from = stream.lastEventId ? this.steps.findIndex((step) => step.id === stream.lastEventId) + 1 : 0;
    if (this.order) stream.send('order', this.order);
    for (const step of this.steps.slice(from)) stream.send('step', step, step.id);
    if (this.problem) stream.send('problem', { message: this.problem });
    if (!this.running) void this.run();
    else this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    this.onIdle();
  }

  private broadcast(event: string, data: unknown, id?: string): void {
    for (const stream of this.streams) stream.send(event, data, id);
  }

  private setProblem(problem: string | null): void {
    if (problem === this.problem) return;
    this.problem = problem;
    this.broadcast('problem', { message: problem });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      await this.refreshOrder();
      while (!this.stopped) {
        const fresh = await this.poll();
        if (fresh) await this.refreshOrder();
        else if (this.order?.status === 'PENDING' || !this.order) await this.refreshOrderEvery(2_000);
        if (this.stopped) break;
        const final = this.order && this.order.status !== 'PENDING';
        const quiet = final && Date.now() - this.lastNewAt > QUIET_AFTER_FINAL_MS;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, quiet ? QUIET_INTERVAL_MS : this.settings.CONSOLE_TAIL_INTERVAL_MS);
        });
      }
    } catch (error) {
      this.logger.error(`following order ${this.orderId}: ${(error as Error).message}`);
      this.broadcast('problem', { message: 'the console stopped following this order: reload the page' });
    } finally {
      this.running = false;
    }
  }

  /** Reads what follows the last event seen; true when something new came. */
  private async poll(): Promise<boolean> {
    let fresh = false;
    for (;;) {
      const after = this.steps.at(-1)?.id;
      const query = new URLSearchParams({ subject: this.orderId, limit: String(PAGE) });
      if (after) query.set('after', after);
      const outcome = await this.upstream.call<ArchivedEvent[]>('orders', `/events?${query}`);
      if (!outcome.ok || !Array.isArray(outcome.body)) {
        this.setProblem(`the steps cannot be read: ${errorText(outcome)}; retrying`);
        return fresh;
      }
      this.setProblem(null);
      for (const event of outcome.body) {
        if (!event || typeof event.id !== 'string' || this.seen.has(event.id)) continue;
        this.seen.add(event.id);
        const step = toStep(event, this.settings.JAEGER_UI_URL);
        this.steps.push(step);
        this.broadcast('step', step, step.id);
        fresh = true;
        this.lastNewAt = Date.now();
      }
      if (outcome.body.length < PAGE) return fresh;
    }
  }

  private lastOrderRead = 0;

  private async refreshOrderEvery(ms: number): Promise<void> {
    if (Date.now() - this.lastOrderRead >= ms) await this.refreshOrder();
  }

  private async refreshOrder(): Promise<void> {
    this.lastOrderRead = Date.now();
    const outcome = await this.upstream.call<OrderView>('orders', `/orders/${this.orderId}`);
    if (outcome.status === 404) {
      this.setProblem('orders does not know this order');
      return;
    }
    if (!outcome.ok || !outcome.body) return; // poll() says why
    const order = outcome.body;
    if (JSON.stringify(order) === JSON.stringify(this.order)) return;
    this.order = order;
    this.broadcast('order', order);
  }
}
