import { ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_DEAD_LETTERS_LIMIT } from '@shop/messaging';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

/** The query of GET /admin/dead-letters. */
export class ListDeadLettersQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_DEAD_LETTERS_LIMIT, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_DEAD_LETTERS_LIMIT)
  limit?: number;

  @ApiPropertyOptional({
    description: "one of the app's consumer queues (`<app>.<name>`, not its `.dlq`); all of them by default",
    minLength: 1,
    maxLength: 255,
    example: 'inventory.reserve-stock-on-order-placed',
  })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  queue?: string;
}
