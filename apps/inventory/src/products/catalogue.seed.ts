import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ProductInput } from './dto/product-input.dto';

/** The demo catalogue of README.md, seeded into an empty database. */
export const DEMO_CATALOGUE: Array<ProductInput & { sku: string }> = [
  { sku: 'SKU-1', name: 'Espresso beans, 1 kg', price: 2490, available: 100 },
  { sku: 'SKU-2', name: 'Pour-over kettle', price: 3900, available: 50 },
  { sku: 'SKU-3', name: 'Burr grinder', price: 12900, available: 20 },
  { sku: 'SKU-4', name: 'Ceramic mug', price: 1200, available: 200 },
  { sku: 'SKU-5', name: 'Limited edition dripper', price: 8900, available: 3 },
];

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
