// The first import of main.ts: instruments http and pg before they are loaded.
import { startTelemetry } from '@shop/platform/telemetry';

startTelemetry('bridge');
