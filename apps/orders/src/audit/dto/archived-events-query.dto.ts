import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';

/** The query of GET /events. */
export class ArchivedEventsQuery {
  @ApiProperty({ format: 'uuid', description: "the events' subject: the order id" })
  @IsUUID()
  subject!: string;

  @ApiPropertyOptional({ description: 'the id of the last event of the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
