import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Metrics } from '@shop/platform';
import { DataSource } from 'typeorm';

/** Products on a /metrics page: the first this many by sku (bounded label cardinality). */
const MAX_SKUS = 500;

/** Stock levels on /metrics: available and reserved per sku, read at each scrape. */
@Injectable()
export class StockMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    const read = (column: 'available' | 'reserved') => async () => {
      const rows: Array<{ sku: string; value: number }> = await this.dataSource.query(
        `SELECT sku, ${column} AS value FROM products ORDER BY sku LIMIT ${MAX_SKUS}`,
      );
      return rows.map((row) => ({ labels: { sku: row.sku }, value: Number(row.value) }));
    };
    this.metrics.addGauge({
      name: 'inventory_stock_available',
      help: `Units available to order, per sku (the first ${MAX_SKUS} skus)`,
      labelNames: ['sku'],
      read: read('available'),
    });
    this.metrics.addGauge({
      name: 'inventory_stock_reserved',
      help: `Units held for orders not yet confirmed or cancelled, per sku (the first ${MAX_SKUS} skus)`,
      labelNames: ['sku'],
      read: read('reserved'),
    });
  }
}
