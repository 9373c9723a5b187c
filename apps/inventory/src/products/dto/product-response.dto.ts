import { ApiProperty } from '@nestjs/swagger';

/** A product as the API shows it. */
export class ProductResponse {
  @ApiProperty() sku!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'cents' }) price!: number;
  @ApiProperty({ description: 'what can still be ordered' }) available!: number;
  @ApiProperty({ description: 'held for orders not yet confirmed or cancelled' }) reserved!: number;
}
