import { ApiProperty } from '@nestjs/swagger';
import type { PaymentRow } from '../payment';

export class PaymentResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) orderId!: string;
  @ApiProperty({ description: 'cents' }) amount!: number;
  @ApiProperty({ enum: ['CAPTURED', 'DECLINED', 'REFUNDED'] }) status!: string;
  @ApiProperty({ type: String, nullable: true, enum: ['card_declined', 'insufficient_funds', 'amount_limit'] })
  reason!: string | null;

  static of(row: PaymentRow): PaymentResponse {
    return {
      id: row.id,
      orderId: row.order_id,
      amount: Number(row.amount),
      status: row.status,
      reason: row.reason,
    };
  }
}
