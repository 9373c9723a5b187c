import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ORDERS_SETTINGS, type OrdersSettings } from '../config/orders.settings';
import { OrdersService } from './orders.service';

/**
 * Cancels orders PENDING for longer than ORDER_TIMEOUT_MS. Every replica sweeps; `FOR UPDATE SKIP
 * LOCKED` gives each order to one of them, and the status is checked under that lock.
 */
@Injectable()
export class OrderTimeoutsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OrderTimeouts');
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly orders: OrdersService,
    @Inject(ORDERS_SETTINGS) private readonly settings: OrdersSettings,
  ) {}

  /** A quarter of the timeout, between 50 ms and 5 s: an order is cancelled at most that late. */
  get intervalMs(): number {
    return Math.min(5_000, Math.max(50, Math.floor(this.settings.ORDER_TIMEOUT_MS / 4)));
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (!this.sweeping) this.sweeping = this.sweep().finally(() => (this.sweeping = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  async sweep(): Promise<void> {
    try {
      let cancelled: number;
      do {
        cancelled = await this.orders.cancelTimedOut(this.settings.ORDER_TIMEOUT_MS);
        if (cancelled)
          this.logger.log(`cancelled ${cancelled} order(s) pending for over ${this.settings.ORDER_TIMEOUT_MS} ms`);
      } while (cancelled === 100);
    } catch (error) {
      this.logger.warn(`timeout sweep failed, next one in ${this.intervalMs} ms: ${(error as Error).message}`);
    }
  }
}
