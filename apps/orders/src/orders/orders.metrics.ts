import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Metrics } from '@shop/platform';
import { DataSource } from 'typeorm';

/** Orders by status on /metrics, counted at each scrape. */
@Injectable()
export class OrdersMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.metrics.addGauge({
      name: 'orders_by_status',
      help: 'Orders in each status (PENDING, CONFIRMED, CANCELLED)',
      labelNames: ['status'],
      read: async () => {
        const rows: Array<{ status: string; n: number }> = await this.dataSource.query(
          `SELECT s.status, count(o.id)::int AS n
             FROM unnest(ARRAY['PENDING', 'CONFIRMED', 'CANCELLED']) AS s(status)
             LEFT JOIN orders o ON o.status = s.status
            GROUP BY s.status`,
        );
        return rows.map((row) => ({ labels: { status: row.status }, value: Number(row.n) }));
      },
    });
  }
}
