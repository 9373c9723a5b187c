import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import type { OrderLine, OrderStatus } from './order';

/** No sku twice among the lines (only judged once items is an array: other rules report the rest). */
function UniqueSkus(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'uniqueSkus',
      validator: {
        validate: (items: unknown) =>
          !Array.isArray(items) ||
          new Set(items.map((item) => (item as { sku?: unknown } | null)?.sku)).size === items.length,
        defaultMessage: () => 'items must not contain a sku twice',
      },
    },
    options,
  );
}

export class OrderItemInput {
  @ApiProperty({ minLength: 1, maxLength: 64, example: 'SKU-1' })
  @IsString()
  @Length(1, 64)
  sku!: string;

  @ApiProperty({ minimum: 1, maximum: 1000, example: 2 })
  @IsInt()
  @Min(1)
  @Max(1000)
  quantity!: number;
}

export class PlaceOrderInput {
  @ApiProperty({ minLength: 1, maxLength: 64, example: 'c-1' })
  @IsString()
  @Length(1, 64)
  customerId!: string;

  @ApiProperty({ type: [OrderItemInput], minItems: 1, maxItems: 50, description: 'no sku twice' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @UniqueSkus()
  @ValidateNested({ each: true })
  @Type(() => OrderItemInput)
  items!: OrderItemInput[];

  @ApiProperty({ minLength: 1, maxLength: 128, example: 'tok_visa' })
  @IsString()
  @Length(1, 128)
  paymentToken!: string;
}

export const ORDER_STATUSES: OrderStatus[] = ['PENDING', 'CONFIRMED', 'CANCELLED'];

export class ListOrdersQuery {
  @ApiPropertyOptional({ minLength: 1, maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  customerId?: string;

  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  cursor?: string;
}

class OrderLineView implements OrderLine {
  @ApiProperty() sku!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'cents; null until inventory priced the order' })
  unitPrice!: number | null;
}

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

export class OrderPage {
  @ApiProperty({ type: [OrderResponse] }) items!: OrderResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
