import {
  HttpStatus,
  Injectable,
  ServiceUnavailableException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Response } from 'express';
import { Counter } from 'prom-client';
import { errorBody } from '../http/errors';
import { Metrics } from '../metrics/metrics';
import { AdmissionControl } from './admission-control';

/**
 * `@UseGuards(AdmissionGuard)` on a route whose work goes on after the answer (placing an order):
 * when the AdmissionControl of the app refuses, a 503 in SPEC.md's error shape with Retry-After,
 * before the body is validated or the database touched; counted by signal in
 * `http_admission_refused_total`. An admitted request holds its place until its response closes.
 */
@Injectable()
export class AdmissionGuard implements CanActivate {
  private readonly refused: Counter<'signal'>;

  constructor(
    private readonly admission: AdmissionControl,
    metrics: Metrics,
  ) {
    const name = 'http_admission_refused_total';
    this.refused =
      (metrics.registry.getSingleMetric(name) as Counter<'signal'> | undefined) ??
      new Counter({
        name,
        help: 'Requests refused with 503 by admission control, by the signal that said the system was full',
        labelNames: ['signal'],
        registers: [metrics.registry],
      });
  }

  canActivate(context: ExecutionContext): boolean {
    const res = context.switchToHttp().getResponse<Response>();
    const decision = this.admission.admit();
    if (decision.admitted) {
      res.once('close', decision.release);
      return true;
    }
    this.refused.inc({ signal: decision.signal });
    res.set('Retry-After', String(decision.retryAfterSeconds));
    throw new ServiceUnavailableException(
      errorBody(HttpStatus.SERVICE_UNAVAILABLE, [
        `overloaded: ${decision.detail}; try again in ${decision.retryAfterSeconds} s`,
      ]),
    );
  }
}
