import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

export class PaymentsQuery {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  orderId!: string;
}
