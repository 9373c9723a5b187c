import { ApiProperty } from '@nestjs/swagger';
import type { RedriveSummary } from '@shop/messaging';

class SkippedDeadLetter {
  @ApiProperty() messageId!: string;
  @ApiProperty({ example: 'not redriven: order.placed must come from orders, but it came from "payments"' })
  reason!: string;
}

/** What a redrive did (RedriveSummary, documented). */
export class RedriveSummaryResponse implements RedriveSummary {
  @ApiProperty() queue!: string;
  @ApiProperty({ type: [String], description: 'sent back to the queue once each, and gone from its dead-letter queue' })
  redriven!: string[];
  @ApiProperty({ type: [String], description: 'asked for and not in the dead-letter queue' })
  notFound!: string[];
  @ApiProperty({ type: [SkippedDeadLetter], description: 'found and left in the dead-letter queue, with why' })
  skipped!: SkippedDeadLetter[];
}
