import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Injectable,
  NotFoundException,
  Param,
  Put,
  Res,
  type OnApplicationBootstrap,
  type PipeTransform,
} from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { RequiresScope } from '@shop/platform';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';
import type { Response } from 'express';
import { DataSource } from 'typeorm';

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

export class ProductResponse {
  @ApiProperty() sku!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'cents' }) price!: number;
  @ApiProperty({ description: 'what can still be ordered' }) available!: number;
  @ApiProperty({ description: 'held for orders not yet confirmed or cancelled' }) reserved!: number;
}

interface ProductRow {
  sku: string;
  name: string;
  price: string;
  available: number;
  reserved: number;
}

const toView = (row: ProductRow): ProductResponse => ({
  sku: row.sku,
  name: row.name,
  price: Number(row.price),
  available: row.available,
  reserved: row.reserved,
});

/** A sku in a path: 1 to 64 characters, as in orders. */
class SkuPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (value.length < 1 || value.length > 64) throw new BadRequestException(['sku must be 1 to 64 characters']);
    return value;
  }
}

/** The demo catalogue of README.md, seeded into an empty database. */
export const DEMO_CATALOGUE: Array<ProductInput & { sku: string }> = [
  { sku: 'SKU-1', name: 'Espresso beans, 1 kg', price: 2490, available: 100 },
  { sku: 'SKU-2', name: 'Pour-over kettle', price: 3900, available: 50 },
  { sku: 'SKU-3', name: 'Burr grinder', price: 12900, available: 20 },
  { sku: 'SKU-4', name: 'Ceramic mug', price: 1200, available: 200 },
  { sku: 'SKU-5', name: 'Limited edition dripper', price: 8900, available: 3 },
];

@ApiTags('products')
@Controller('products')
export class ProductsController {
  constructor(private readonly db: DataSource) {}

  @Get()
  @ApiOkResponse({ type: [ProductResponse] })
  async list(): Promise<ProductResponse[]> {
    const rows = (await this.db.query(`SELECT * FROM products ORDER BY sku`)) as ProductRow[];
    return rows.map(toView);
  }

  @Get(':sku')
  @ApiOkResponse({ type: ProductResponse })
  async get(@Param('sku', SkuPipe) sku: string): Promise<ProductResponse> {
    const [row] = (await this.db.query(`SELECT * FROM products WHERE sku = $1`, [sku])) as ProductRow[];
    if (!row) throw new NotFoundException([`product ${sku} does not exist`]);
    return toView(row);
  }

  /** Creates (201) or replaces (200) a product. `available` is set as given; what is reserved or sold stays. */
  @Put(':sku')
  @RequiresScope('inventory:write')
  @ApiOkResponse({ type: ProductResponse, description: 'replaced (201 when created)' })
  async put(
    @Param('sku', SkuPipe) sku: string,
    @Body() input: ProductInput,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ProductResponse> {
    const [row] = (await this.db.query(
      `INSERT INTO products (sku, name, price, available) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sku) DO UPDATE SET name = $2, price = $3, available = $4, updated_at = now()
       RETURNING *, (xmax = 0) AS created`,
      [sku, input.name, input.price, input.available],
    )) as [ProductRow & { created: boolean }];
    res.status(row.created ? 201 : 200);
    return toView(row);
  }
}

@Injectable()
export class CatalogueSeed implements OnApplicationBootstrap {
  constructor(private readonly db: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Replicas starting together: one seeds, the others then find products.
      await tx.query(`LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE`);
      const [{ count }] = (await tx.query(`SELECT count(*)::int AS count FROM products`)) as { count: number }[];
      if (count > 0) return;
      for (const product of DEMO_CATALOGUE) {
        await tx.query(`INSERT INTO products (sku, name, price, available) VALUES ($1, $2, $3, $4)`, [
          product.sku,
          product.name,
          product.price,
          product.available,
        ]);
      }
    });
  }
}
