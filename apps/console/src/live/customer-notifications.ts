import { Injectable, Logger } from '@nestjs/common';
import type { NotificationView } from '../contract';
import type { SseStream } from '../http/sse';
import { describeFailure, errorText, Upstream } from '../upstream/upstream';

const RETRY_MS = 1_000;

/**
 * A customer's notifications as they arrive, relayed from notifications' own stream
 * (GET /notifications/stream?customerId=) to the page: the stream is opened first, then what exists
 * already is listed (GET /notifications?customerId=), so nothing falls between the two; each is sent
 * once per page (by id). When the upstream stream ends or notifications is down, the page is told
 * and the relay opens it again a second later, catching up by the list.
 */
@Injectable()
export class CustomerNotifications {
  private readonly logger = new Logger('CustomerNotifications');

  constructor(private readonly upstream: Upstream) {}

  relay(customerId: string, stream: SseStream): void {
    const abort = new AbortController();
    stream.onClose(() => abort.abort());
    void this.run(customerId, stream, abort.signal);
  }

  private async run(customerId: string, stream: SseStream, signal: AbortSignal): Promise<void> {
    const sent = new Set<string>();
    const send = (notification: NotificationView) => {
      if (!notification?.id || sent.has(notification.id)) return;
      sent.add(notification.id);
      stream.send('notification', notification, notification.id);
    };
    let problem: string | null = null;
    const setProblem = (message: string | null) => {
      if (message === problem) return;
      problem = message;
      stream.send('problem', { message });
    };
    const query = new URLSearchParams({ customerId });
    while (!signal.aborted) {
      try {
        const response = await fetch(this.upstream.url('notifications', `/notifications/stream?${query}`), {
          headers: this.upstream.headers({ accept: 'text/event-stream' }),
          signal,
        });
        if (!response.ok || !response.body) {
          await response.body?.cancel();
          setProblem(`notifications answered ${response.status} to its stream; retrying`);
        } else {
          const listed = await this.upstream.call<NotificationView[]>('notifications', `/notifications?${query}`, {
            signal,
          });
          if (listed.ok && Array.isArray(listed.body)) {
            for (const notification of [...listed.body].sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
              send(notification);
            }
            setProblem(null);
          } else {
            setProblem(`the notifications cannot be listed: ${errorText(listed)}`);
          }
          await readEvents(response.body, (data) => {
            try {
              send(JSON.parse(data) as NotificationView);
            } catch {
              // not a notification: skipped
            }
          });
          if (!signal.aborted) setProblem('the notifications stream ended; reconnecting');
        }
      } catch (error) {
        if (signal.aborted) return;
        setProblem(`notifications does not answer (${describeFailure(error, 0)}); retrying`);
        this.logger.debug(`notifications stream of ${customerId}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/** Calls `onData` with the `data:` of each event of a Server-Sent Events body, until it ends. */
async function readEvents(body: ReadableStream<Uint8Array>, onData: (data: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length) onData(data.join('\n'));
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
    }
  }
}
