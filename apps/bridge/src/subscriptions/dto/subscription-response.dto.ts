import { ApiProperty } from '@nestjs/swagger';

export class SubscriptionResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'crm-orders' })
  name!: string;

  @ApiProperty({ type: [String], example: ['order.*'] })
  types!: string[];

  @ApiProperty({ example: 'https://crm.example.com/hooks/shop' })
  url!: string;

  @ApiProperty({ example: 4 })
  concurrency!: number;

  @ApiProperty({ example: 100 })
  ratePerSecond!: number;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ description: 'its durable queue (where its dead letters are: <queue>.dlq)' })
  queue!: string;
}

/** The answer to POST /subscriptions: the only time the secret is shown. */
export class CreatedSubscriptionResponse extends SubscriptionResponse {
  @ApiProperty({
    description:
      'signs every delivery: X-Signature is `sha256=` and the hex HMAC-SHA256 of the raw body under this secret',
  })
  secret!: string;
}
