import type { ProductResponse } from './dto/product-response.dto';

/**
 * A product as stored: one row of `products` (created by the migration; queried in SQL, no ORM
 * entity). available + reserved + sold is what was stocked, and none of them may go negative.
 */
export interface ProductRow {
  sku: string;
  name: string;
  /** bigint: node-postgres answers it as text. */
  price: string;
  available: number;
  reserved: number;
}

export function toProductView(row: ProductRow): ProductResponse {
  return {
    sku: row.sku,
    name: row.name,
    price: Number(row.price),
    available: row.available,
    reserved: row.reserved,
  };
}
