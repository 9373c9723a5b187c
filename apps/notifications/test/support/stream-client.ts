import type { NotificationView } from '../../src/notifications/notification';

export interface StreamClient {
  /** Every notification received so far, in order. */
  received: NotificationView[];
  close(): void;
}

/**
 * GET /notifications/stream?customerId=...: resolves once the answer's headers are in, by when the
 * app has subscribed the request to its stream.
 */
export async function openStream(baseUrl: string, customerId: string): Promise<StreamClient> {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}/notifications/stream?customerId=${encodeURIComponent(customerId)}`, {
    headers: { accept: 'text/event-stream' },
    signal: abort.signal,
  });
  if (response.status !== 200 || !response.body) throw new Error(`the stream answered ${response.status}`);
  const received: NotificationView[] = [];
  const body = response.body;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice('data:'.length).trim());
          buffer = buffer.slice(end + 2);
          if (data.length > 0) received.push(JSON.parse(data.join('\n')) as NotificationView);
        }
      }
    } catch {
      // Aborted by close().
    }
  })();
  return { received, close: () => abort.abort() };
}
