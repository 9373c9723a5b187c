import type { Request, Response } from 'express';

/** How often a comment line keeps an idle stream (and the proxies on its way) open. */
const HEARTBEAT_MS = 15_000;

export interface SseStream {
  /** One event: `event:` its name, `id:` when given (EventSource sends it back as Last-Event-ID). */
  send(event: string, data: unknown, id?: string): void;
  readonly closed: boolean;
  onClose(listener: () => void): void;
  close(): void;
  /** The id of the last event the browser saw before it reconnected, if any. */
  readonly lastEventId?: string;
}

/** Every open stream, so that a shutdown can end them (an open stream would hold the server open). */
const open = new Set<SseStream>();

export function closeAllStreams(): void {
  for (const stream of [...open]) stream.close();
}

/** Turns an Express response into a Server-Sent Events stream. */
export function openSse(req: Request, res: Response): SseStream {
  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('connection', 'keep-alive');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  // the browser reconnects after a second when the stream drops
  res.write('retry: 1000\n\n');
  const listeners: Array<() => void> = [];
  let closed = false;
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const given = req.headers['last-event-id'];
  const stream: SseStream = {
    lastEventId: typeof given === 'string' && given.length <= 200 ? given : undefined,
    get closed() {
      return closed;
    },
    send(event, data, id) {
      if (closed) return;
      const lines = [`event: ${event}`];
      if (id) lines.push(`id: ${id.replace(/[\r\n]/g, '')}`);
      lines.push(`data: ${JSON.stringify(data)}`);
      res.write(`${lines.join('\n')}\n\n`);
    },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
    close() {
      if (!closed) res.end();
      finish();
    },
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    open.delete(stream);
    for (const listener of listeners.splice(0)) listener();
  };
  res.on('close', finish);
  open.add(stream);
  return stream;
}
