import { ApiProperty } from '@nestjs/swagger';
import { OrderResponse } from './order-response.dto';

/** A page of GET /orders, newest first. */
export class OrderPage {
  @ApiProperty({ type: [OrderResponse] }) items!: OrderResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
