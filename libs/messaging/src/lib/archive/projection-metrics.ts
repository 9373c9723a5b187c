import { Counter, Gauge, type Registry } from 'prom-client';

/** Where each projection is, in the registry of the library's metrics (served on /metrics). */
export class ProjectionMetrics {
  readonly position: Gauge<'projection' | 'table'>;
  readonly events: Counter<'projection' | 'table'>;
  readonly rebuilding: Gauge<'projection'>;

  constructor(registry: Registry) {
    this.position = new Gauge({
      name: 'projection_position',
      help: 'Archive offset of the last event folded, by projection and table (live or rebuild)',
      labelNames: ['projection', 'table'] as const,
      registers: [registry],
    });
    this.events = new Counter({
      name: 'projection_events_total',
      help: 'Archived events folded, by projection and table (live or rebuild): its rate is the rebuild speed',
      labelNames: ['projection', 'table'] as const,
      registers: [registry],
    });
    this.rebuilding = new Gauge({
      name: 'projection_rebuilding',
      help: '1 while the projection is being rebuilt from the archive',
      labelNames: ['projection'] as const,
      registers: [registry],
    });
  }
}
