/**
 * `@shop/platform/telemetry`: OpenTelemetry for an app, started before anything it instruments is
 * loaded. Each app's `src/telemetry.ts` calls `startTelemetry('<app>')` and is the first import of its
 * `main.ts`. This entry point imports nothing of the app's stack (no pg, no express, no Nest).
 */
export { startTelemetry, stopTelemetry, telemetryEnabled } from './lib/telemetry/telemetry';
