import { ApiProperty } from '@nestjs/swagger';
import type { Receipt } from '../received-events.service';

export class ReceiptResponse implements Receipt {
  @ApiProperty({ format: 'uuid', description: 'the CloudEvent id' })
  id!: string;

  @ApiProperty({ example: 'stock.adjusted' })
  type!: string;

  @ApiProperty({ example: 'SKU-1', description: 'what the event is about (an order id, a sku)' })
  subject!: string;

  @ApiProperty({ description: 'the same event was accepted before: nothing new is published' })
  duplicate!: boolean;
}
