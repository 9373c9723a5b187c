import { Injectable } from '@nestjs/common';
import { Metrics } from '@shop/platform';
import { Histogram } from 'prom-client';

/** Deliveries to subscribers on /metrics: by subscription and outcome, with their duration. */
@Injectable()
export class SubscriptionMetrics {
  private readonly deliveries: Histogram<'subscription' | 'outcome'>;

  constructor(metrics: Metrics) {
    this.deliveries = new Histogram({
      name: 'bridge_delivery_duration_seconds',
      help: 'Push deliveries to subscribers by subscription name and outcome (delivered, failed)',
      labelNames: ['subscription', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    });
  }

  delivered(subscription: string, outcome: 'delivered' | 'failed', durationMs: number): void {
    this.deliveries.observe({ subscription, outcome }, durationMs / 1000);
  }
}
