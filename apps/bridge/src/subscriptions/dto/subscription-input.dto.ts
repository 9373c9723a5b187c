import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';

/** A binding pattern as AMQP topic exchanges read it: words of [a-z0-9-], `*` one word, `#` any number. */
export const TYPE_PATTERN = /^(\*|#|[a-z0-9-]+)(\.(\*|#|[a-z0-9-]+))*$/;

/** The body of POST /subscriptions. */
export class SubscriptionInput {
  @ApiProperty({ minLength: 1, maxLength: 64, example: 'crm-orders', description: 'unique among subscriptions' })
  @IsString()
  @Length(1, 64)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'name may hold letters, digits, ".", "_" and "-" only' })
  name!: string;

  @ApiProperty({
    type: [String],
    example: ['order.*', 'payment.captured'],
    description: 'event types; `*` stands for one word, `#` for any number (AMQP topic patterns)',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ArrayUnique()
  @IsString({ each: true })
  @Length(1, 255, { each: true })
  @Matches(TYPE_PATTERN, { each: true, message: 'each of types must be an event type or a pattern such as order.*' })
  types!: string[];

  @ApiProperty({
    example: 'https://crm.example.com/hooks/shop',
    description: 'must be allowed by BRIDGE_SUBSCRIBER_ALLOWLIST',
  })
  @IsString()
  @Length(1, 2048)
  url!: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 64,
    description: 'deliveries in flight (default BRIDGE_DELIVERY_CONCURRENCY)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(64)
  concurrency?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 10_000,
    description: 'deliveries per second (default BRIDGE_DELIVERY_RATE)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  ratePerSecond?: number;
}
