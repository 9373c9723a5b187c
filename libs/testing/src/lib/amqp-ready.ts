import { connect } from 'amqplib';

/** True when the broker at `url` completes an AMQP handshake (and so accepts clients) right now. */
export async function acceptsAmqp(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const connection = await connect(url, { timeout: timeoutMs });
    connection.on('error', () => undefined);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}
