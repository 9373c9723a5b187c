import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { UniqueSkus } from './unique-skus.validator';

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

/** The body of POST /orders. */
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
