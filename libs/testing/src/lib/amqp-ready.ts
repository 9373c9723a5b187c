import { connect } from 'amqplib';
import type { ConnectionOptions } from 'node:tls';

/**
 * True when the broker at `url` completes an AMQP handshake (and so accepts clients) right now;
 * `tls` are the socket options of an amqps:// URL (CA, client certificate).
 */
export async function acceptsAmqp(url: string, timeoutMs = 2_000, tls: ConnectionOptions = {}): Promise<boolean> {
  try {
    const connection = await connect(url, { ...tls, timeout: timeoutMs });
    connection.on('error', () => undefined);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}
