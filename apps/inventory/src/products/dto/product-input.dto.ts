import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';

/** The body of PUT /products/{sku}. */
export class ProductInput {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Espresso beans, 1 kg' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ minimum: 0, description: 'cents', example: 2490 })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  price!: number;

  @ApiProperty({ minimum: 0, example: 100 })
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  available!: number;
}
