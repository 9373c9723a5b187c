import type { z } from 'zod';
import { setting } from '../settings';
import type { AdmissionOptions } from './admission-control';

/** The settings of an app with admission control (orders), with their defaults; 0 turns a limit off. */
export function admissionSettings() {
  return {
    /** Admitted requests at once per process, not answered yet. */
    ADMISSION_MAX_IN_FLIGHT: setting.integer(64, 0),
    /** p99 of the process's event-loop delay over the last sample interval. */
    ADMISSION_MAX_EVENT_LOOP_DELAY_MS: setting.integer(250, 0),
    /**
     * The oldest event waiting in the outbox (not published, or published and not yet deleted): a
     * broker outage shorter than this is absorbed (requests accepted, completed once it is back).
     */
    ADMISSION_MAX_OUTBOX_AGE_MS: setting.integer(30_000, 0),
    /** How often the signals are read while requests come. */
    ADMISSION_SAMPLE_INTERVAL_MS: setting.integer(100, 10, 60_000),
    /** The Retry-After of a refusal, in seconds. */
    ADMISSION_RETRY_AFTER_SECONDS: setting.integer(1, 1, 3_600),
    /**
     * How long a request waits for room when a limit is reached but nothing is late, before it is
     * refused; 0: refused at once.
     */
    ADMISSION_QUEUE_MS: setting.integer(200, 0, 10_000),
  };
}

export type AdmissionSettings = z.infer<z.ZodObject<ReturnType<typeof admissionSettings>>>;

export function admissionOptions(settings: AdmissionSettings): AdmissionOptions {
  return {
    maxInFlight: settings.ADMISSION_MAX_IN_FLIGHT,
    maxEventLoopDelayMs: settings.ADMISSION_MAX_EVENT_LOOP_DELAY_MS,
    sampleIntervalMs: settings.ADMISSION_SAMPLE_INTERVAL_MS,
    retryAfterSeconds: settings.ADMISSION_RETRY_AFTER_SECONDS,
    maxQueueMs: settings.ADMISSION_QUEUE_MS,
  };
}
