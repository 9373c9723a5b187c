import { ApiProperty } from '@nestjs/swagger';
import { ORDER_STATUSES, type OrderLine, type OrderStatus } from '../order.entity';

class OrderLineView implements OrderLine {
  @ApiProperty() sku!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'cents; null until inventory priced the order' })
  unitPrice!: number | null;
}

/** An order as the API shows it (OrderView, documented). */
export class OrderResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status!: OrderStatus;
  @ApiProperty({ type: [OrderLineView] }) items!: OrderLineView[];
  @ApiProperty({ type: Number, nullable: true, description: 'cents' }) total!: number | null;
  @ApiProperty({ enum: ['USD'] }) currency!: 'USD';
  @ApiProperty({
    type: String,
    nullable: true,
    enum: ['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'CUSTOMER_REQUEST', 'TIMEOUT'],
  })
  cancellationReason!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}
