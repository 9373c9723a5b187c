import {
  HttpStatus,
  Injectable,
  Logger,
  ServiceUnavailableException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Response } from 'express';
import { Counter, Gauge } from 'prom-client';
import { errorBody } from '../http/errors';
import { markRefusedByAdmission } from '../logging/logging';
import { Metrics } from '../metrics/metrics';
import { AdmissionControl, type Admission } from './admission-control';

/**
 * `@UseGuards(AdmissionGuard)` on a route whose work goes on after the answer (placing an order):
 * when the AdmissionControl of the app refuses, a 503 in SPEC.md's error shape with Retry-After,
 * before the body is validated or the database touched; counted by signal in
 * `http_admission_refused_total`; those waiting for room are `http_admission_waiting`. An admitted
 * request holds its place until its response closes.
 * Refusals come by the thousand under overload: no access-log error line each, but one warning per
 * SUMMARY_MS saying how many, on which signals, and the last reason.
 */
@Injectable()
export class AdmissionGuard implements CanActivate {
  private readonly logger = new Logger('Admission');
  private readonly refused: Counter<'signal'>;
  private summary?: RefusalSummary;

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
    const waiting = 'http_admission_waiting';
    if (!metrics.registry.getSingleMetric(waiting)) {
      new Gauge({
        name: waiting,
        help: 'Requests waiting for room (a limit reached, nothing late) before they are admitted or refused',
        registers: [metrics.registry],
        collect() {
          this.set(admission.waiting);
        },
      });
    }
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const res = context.switchToHttp().getResponse<Response>();
    const decision = this.admission.admitOrWait();
    if (!(decision instanceof Promise)) return this.decided(res, decision);
    // A client that hangs up while its request waits for room gives its place back once admitted.
    let gone = false;
    const hungUp = () => (gone = true);
    res.once('close', hungUp);
    return decision.then((waited) => {
      res.off('close', hungUp);
      if (waited.admitted && gone) waited.release();
      return this.decided(res, waited);
    });
  }

  private decided(res: Response, decision: Admission): boolean {
    if (decision.admitted) {
      res.once('close', decision.release);
      return true;
    }
    this.refused.inc({ signal: decision.signal });
    this.tell(decision.signal, decision.detail);
    markRefusedByAdmission(res);
    res.set('Retry-After', String(decision.retryAfterSeconds));
    throw new ServiceUnavailableException(
      errorBody(HttpStatus.SERVICE_UNAVAILABLE, [
        `overloaded: ${decision.detail}; try again in ${decision.retryAfterSeconds} s`,
      ]),
    );
  }

  /** Counts a refusal: the first after a quiet spell is logged at once, then one summary per SUMMARY_MS. */
  private tell(signal: string, detail: string): void {
    const now = Date.now();
    const current = this.summary;
    if (!current || now - current.lastAt > SUMMARY_MS) {
      if (current) this.flush(current, now);
      this.logger.warn(`refusing requests (503, Retry-After): ${detail}`);
      this.summary = { since: now, lastAt: now, bySignal: new Map(), last: detail };
      return;
    }
    current.bySignal.set(signal, (current.bySignal.get(signal) ?? 0) + 1);
    current.lastAt = now;
    current.last = detail;
    if (now - current.since >= SUMMARY_MS) {
      this.flush(current, now);
      this.summary = { since: now, lastAt: now, bySignal: new Map(), last: detail };
    }
  }

  private flush(summary: RefusalSummary, now: number): void {
    if (summary.bySignal.size === 0) return;
    const counts = [...summary.bySignal].map(([name, n]) => `${name} ${n}`).join(', ');
    const seconds = ((Math.min(now, summary.lastAt + 1) - summary.since) / 1000).toFixed(0);
    this.logger.warn(`refused ${counts} more in ${seconds} s; the last: ${summary.last}`);
  }
}

interface RefusalSummary {
  since: number;
  lastAt: number;
  bySignal: Map<string, number>;
  last: string;
}

/** How often the refusals are summed up in the log while they go on. */
const SUMMARY_MS = 10_000;
