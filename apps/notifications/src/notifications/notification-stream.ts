import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import { Subject, type Observable } from 'rxjs';
import { NOTIFICATIONS_SETTINGS, type NotificationsSettings } from '../config/notifications.settings';
import { toView, type NotificationRow, type NotificationView } from './notification';
import { CHANNEL } from './notifications.service';

/**
 * New notifications as they commit, from every replica: PostgreSQL LISTEN on the channel the
 * inserting transaction NOTIFYs (delivered only on commit), on one connection of its own that is
 * re-opened with backoff when it drops.
 */
@Injectable()
export class NotificationStream implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('NotificationStream');
  private readonly subject = new Subject<NotificationView>();
  private client?: Client;
  private stopped = false;
  private retryMs = 500;

  constructor(@Inject(NOTIFICATIONS_SETTINGS) private readonly settings: NotificationsSettings) {}

  get notifications(): Observable<NotificationView> {
    return this.subject.asObservable();
  }

  async onModuleInit(): Promise<void> {
    await this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.subject.complete();
    await this.client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.settings.DATABASE_URL, keepAlive: true });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        this.subject.next(toView(JSON.parse(message.payload) as NotificationRow));
      } catch (error) {
        this.logger.warn(`ignored an unreadable notification: ${(error as Error).message}`);
      }
    });
    const reconnect = (error?: Error) => {
      if (this.stopped || this.client !== client) return;
      this.client = undefined;
      this.logger.warn(`lost the LISTEN connection (${error?.message ?? 'closed'}); retrying in ${this.retryMs} ms`);
      client.end().catch(() => undefined);
      setTimeout(() => void this.listen(), this.retryMs).unref();
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.retryMs = 500;
    } catch (error) {
      reconnect(error as Error);
    }
  }
}
