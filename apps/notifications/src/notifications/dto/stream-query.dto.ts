import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class StreamQuery {
  @ApiProperty({ minLength: 1, maxLength: 64 })
  @IsString()
  @Length(1, 64)
  customerId!: string;
}
