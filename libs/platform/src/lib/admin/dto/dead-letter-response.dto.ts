import { ApiProperty } from '@nestjs/swagger';
import type { DeadLetter } from '@shop/messaging';

/** A message waiting in a dead-letter queue (DeadLetter, documented). */
export class DeadLetterResponse implements DeadLetter {
  @ApiProperty({ description: 'the consumer queue whose `<queue>.dlq` holds it' }) queue!: string;
  @ApiProperty({ type: String, nullable: true, description: 'the message (CloudEvent) id; redrive by it' })
  messageId!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'order.placed' }) type!: string | null;
  @ApiProperty({
    description:
      'why: ours (unparseable, invalid-envelope, unknown-type, unknown-version, schema-invalid, unexpected-type, ' +
      "rejected, retries-exhausted, unauthenticated-producer, undecompressable) or the broker's (delivery_limit)",
  })
  reason!: string;
  @ApiProperty({ description: 'handler attempts spent the last time' }) attempts!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'kept across redrives' })
  firstDeadLetteredAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the last error of its handler' }) error!: string | null;
  @ApiProperty({ description: 'times it was redriven already' }) redrives!: number;
  @ApiProperty({
    oneOf: [{ type: 'object' }, { type: 'string' }],
    description:
      'the CloudEvent when the body is JSON (decompressed when it came gzip- or brotli-compressed), else its text ' +
      '(cut at 4 KiB); a compressed body that does not decompress within the cap as a line in brackets saying so',
  })
  body!: unknown;
}
