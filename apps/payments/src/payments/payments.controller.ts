import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { RequiresScope } from '@shop/platform';
import { IsUUID } from 'class-validator';
import { DataSource } from 'typeorm';

export class PaymentsQuery {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  orderId!: string;
}

export class PaymentResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) orderId!: string;
  @ApiProperty({ description: 'cents' }) amount!: number;
  @ApiProperty({ enum: ['CAPTURED', 'DECLINED', 'REFUNDED'] }) status!: string;
  @ApiProperty({ type: String, nullable: true, enum: ['card_declined', 'insufficient_funds', 'amount_limit'] })
  reason!: string | null;
}

@ApiTags('payments')
@Controller('payments')
export class PaymentsController {
  constructor(private readonly db: DataSource) {}

  @Get()
  @RequiresScope('payments:read')
  @ApiOkResponse({ type: [PaymentResponse] })
  async list(@Query() query: PaymentsQuery): Promise<PaymentResponse[]> {
    const rows = (await this.db.query(
      `SELECT id, order_id, amount, status, reason FROM payments WHERE order_id = $1 ORDER BY created_at`,
      [query.orderId],
    )) as { id: string; order_id: string; amount: string; status: string; reason: string | null }[];
    return rows.map((row) => ({
      id: row.id,
      orderId: row.order_id,
      amount: Number(row.amount),
      status: row.status,
      reason: row.reason,
    }));
  }
}
