import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PRODUCER_NAMES, EVENTS, type ProducerName } from '@shop/contracts';
import type { OrderTimelineView, TimelineEventView } from '../timeline-entry.entity';

export class TimelineEvent implements TimelineEventView {
  @ApiProperty({ description: 'the CloudEvent id', example: '0b9c7c4e-2f0e-4a4f-9d55-7c1f0c8f6a11' })
  id!: string;

  @ApiProperty({ enum: EVENTS.all.map((event) => event.type), example: 'payment.captured' })
  type!: string;

  @ApiProperty({ enum: PRODUCER_NAMES, description: 'the app that published it (its exchange)', example: 'payments' })
  producer!: ProducerName;

  @ApiProperty({ format: 'date-time', description: 'when it happened, by its producer (the CloudEvent time)' })
  time!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: '^[0-9a-f]{32}$',
    description: 'W3C trace id of its traceparent: the same for every event one request caused',
    example: '4bf92f3577b34da6a3ce929d0e0e4736',
  })
  traceId!: string | null;

  @ApiPropertyOptional({ description: 'id of the event that caused this one; absent for one caused by a request' })
  causationId?: string;

  @ApiPropertyOptional({
    maxLength: 200,
    description: "a short line about its data (a cancellation's reason, a capture's amount in cents, ...)",
    example: 'captured 3750 cents USD',
  })
  summary?: string;
}

export class OrderTimelineResponse implements OrderTimelineView {
  @ApiProperty({ format: 'uuid' })
  orderId!: string;

  @ApiProperty({
    type: [TimelineEvent],
    description:
      'by time, ties in the order received; the events projected so far (possibly none just after the order was placed)',
  })
  events!: TimelineEvent[];
}
