import type { Channel, Message } from 'amqplib';
import { AckBatch } from './ack-batch';

/** What the channel was asked to send, in order. */
function recordingChannel() {
  const sent: string[] = [];
  const channel = {
    ack: (message: Message, multiple = false) =>
      sent.push(`ack ${message.fields.deliveryTag}${multiple ? ' multiple' : ''}`),
    nack: (message: Message) => sent.push(`nack ${message.fields.deliveryTag}`),
  } as unknown as Channel;
  return { channel, sent };
}

const delivery = (deliveryTag: number) => ({ fields: { deliveryTag } }) as Message;

describe('AckBatch', () => {
  it('acknowledges deliveries settled in order with one multiple ack', () => {
    const { channel, sent } = recordingChannel();
    const acks = new AckBatch(channel);
    for (const tag of [1, 2, 3, 4]) acks.delivered(delivery(tag));
    for (const tag of [1, 2, 3, 4]) acks.ack(delivery(tag));
    acks.flush();
    expect(sent).toEqual(['ack 4 multiple']);
  });

  it('acknowledges a delivery settled ahead of one still handled on its own, and never again', () => {
    const { channel, sent } = recordingChannel();
    const acks = new AckBatch(channel);
    for (const tag of [1, 2, 3, 4]) acks.delivered(delivery(tag));
    acks.ack(delivery(1));
    acks.ack(delivery(3));
    acks.flush();
    // 2 is still in its handler: 1 goes as the prefix, 3 alone (a slow handler holds back no other ack).
    expect(sent).toEqual(['ack 1 multiple', 'ack 3']);
    acks.ack(delivery(2));
    acks.ack(delivery(4));
    acks.flush();
    // 2..4 settled: the prefix ends at 4; 3 is covered by the multiple ack without being sent again.
    expect(sent).toEqual(['ack 1 multiple', 'ack 3', 'ack 4 multiple']);
  });

  it('hands a delivery back at once, and does not cover it with a later multiple ack', () => {
    const { channel, sent } = recordingChannel();
    const acks = new AckBatch(channel);
    for (const tag of [1, 2, 3]) acks.delivered(delivery(tag));
    acks.nack(delivery(1));
    expect(sent).toEqual(['nack 1']);
    acks.ack(delivery(2));
    acks.flush();
    expect(sent).toEqual(['nack 1', 'ack 2 multiple']);
    acks.flush();
    expect(sent).toEqual(['nack 1', 'ack 2 multiple']);
  });

  it('sends nothing when nothing settled, and the acks of a closed channel are dropped quietly', () => {
    const sent: string[] = [];
    const closed = {
      ack: () => {
        sent.push('ack');
        throw new Error('Channel closed');
      },
    } as unknown as Channel;
    const acks = new AckBatch(closed);
    acks.flush();
    expect(sent).toEqual([]);
    acks.delivered(delivery(7));
    acks.ack(delivery(7));
    expect(() => acks.flush()).not.toThrow();
    expect(sent).toEqual(['ack']);
  });

  it('acks on its own at the end of the turn', async () => {
    const { channel, sent } = recordingChannel();
    const acks = new AckBatch(channel);
    acks.delivered(delivery(1));
    acks.ack(delivery(1));
    expect(sent).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual(['ack 1 multiple']);
  });
});
