import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';

type Env = Record<string, string | undefined>;

let sdk: NodeSDK | undefined;

/** Tracing is on when the standard variables ask for an exporter, and not disabled. */
export function telemetryEnabled(env: Env = process.env): boolean {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  if ((env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') return false;
  if ((env['OTEL_TRACES_EXPORTER'] ?? '').trim().toLowerCase() === 'none') return false;
  return set('OTEL_TRACES_EXPORTER') || set('OTEL_EXPORTER_OTLP_ENDPOINT') || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
}

/**
 * Starts the OpenTelemetry Node SDK, configured by the standard `OTEL_*` variables (exporter,
 * endpoint, protocol, sampler, resource attributes, batch delays): spans of incoming HTTP requests
 * and of PostgreSQL queries made within a trace, plus the messaging library's publish, process and
 * transaction spans. With no exporter configured it starts nothing: tracing is off, and the W3C
 * trace context still flows through requests, events and logs. `OTEL_TRACES_EXPORTER=console`
 * prints spans. Only traces: metrics are Prometheus on /metrics, logs are JSON on stdout.
 */
export function startTelemetry(serviceName: string, env: Env = process.env): boolean {
  if (sdk || !telemetryEnabled(env)) return false;
  env['OTEL_METRICS_EXPORTER'] ??= 'none';
  env['OTEL_LOGS_EXPORTER'] ??= 'none';
  sdk = new NodeSDK({
    ...(env['OTEL_SERVICE_NAME'] ? {} : { serviceName }),
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes are not what anyone traces.
        ignoreIncomingRequestHook: (request) => /^\/(health|metrics)(\/|$|\?)/.test(request.url ?? ''),
        // Outgoing calls of the apps are not HTTP (the broker and the database have their own spans).
        ignoreOutgoingRequestHook: () => true,
      }),
      // Queries only inside a trace: the relay's and the sweeps' idle polls start none.
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  return true;
}

/** Flushes and stops the SDK (on shutdown, so that the last spans are exported). */
export async function stopTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown().catch(() => undefined);
}
