import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ProductInput } from './dto/product-input.dto';
import type { ProductResponse } from './dto/product-response.dto';
import { toProductView, type ProductRow } from './product.entity';

/** The catalogue: products, their prices and what is in stock (StockService moves the stock). */
@Injectable()
export class ProductsService {
  constructor(private readonly db: DataSource) {}

  async list(): Promise<ProductResponse[]> {
    const rows = (await this.db.query(`SELECT * FROM products ORDER BY sku`)) as ProductRow[];
    return rows.map(toProductView);
  }

  async get(sku: string): Promise<ProductResponse> {
    const [row] = (await this.db.query(`SELECT * FROM products WHERE sku = $1`, [sku])) as ProductRow[];
    if (!row) throw new NotFoundException([`product ${sku} does not exist`]);
    return toProductView(row);
  }

  /** Creates or replaces a product. `available` is set as given; what is reserved or sold stays. */
  async put(sku: string, input: ProductInput): Promise<{ product: ProductResponse; created: boolean }> {
    const [row] = (await this.db.query(
      `INSERT INTO products (sku, name, price, available) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sku) DO UPDATE SET name = $2, price = $3, available = $4, updated_at = now()
       RETURNING *, (xmax = 0) AS created`,
      [sku, input.name, input.price, input.available],
    )) as [ProductRow & { created: boolean }];
    return { product: toProductView(row), created: row.created };
  }
}
