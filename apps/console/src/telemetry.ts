// The first import of main.ts: instruments http before it is loaded.
import { startTelemetry } from '@shop/platform/telemetry';

startTelemetry('console');
