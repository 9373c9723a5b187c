import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TraceContext } from '@shop/tracing';
import type { Params } from 'nestjs-pino';
import { stdTimeFunctions } from 'pino';
import type { LogLevelSetting } from '../settings';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const PINO_LEVELS: Record<LogLevelSetting, string> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Set on a response that admission control refused (AdmissionGuard): its log line is a debug one. */
const REFUSED = Symbol.for('shop.platform.admission-refused');

export function markRefusedByAdmission(res: ServerResponse): void {
  (res as unknown as Record<symbol, boolean>)[REFUSED] = true;
}

function refusedByAdmission(res: ServerResponse): boolean {
  return (res as unknown as Record<symbol, boolean | undefined>)[REFUSED] === true;
}

/** The health probes and the metrics scrapes: no access-log line each. */
const PROBE = /^\/(health|metrics)(\/|$|\?)/;

/** A caller's request id is kept when it is a plain token; anything else gets a fresh one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Whether pino-pretty can be loaded (a devDependency: absent from the production image). */
function prettyAvailable(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * Structured logs through nestjs-pino: one JSON line per entry on stdout, with the app, the trace and
 * span id of the request or event being handled, and the request id (`X-Request-Id`, kept from the
 * caller or made, and returned). `pretty` prints readable lines for development.
 */
export function loggingParams(
  app: string,
  level: LogLevelSetting,
  format: LogFormat,
  options: {
    /** Requests not worth a line each; by default the probes and the scrapes (`/health`, `/metrics`). */
    quiet?: (req: IncomingMessage) => boolean;
  } = {},
): Params {
  const pretty = format === 'pretty' && prettyAvailable();
  return {
    pinoHttp: {
      level: PINO_LEVELS[level],
      base: { app },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const ids = TraceContext.ids();
        return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
      },
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
        // A refusal of admission control is the system working as meant, by the thousand under
        // overload: no error line each (AdmissionGuard logs a summary, the metrics count them).
        refusedByAdmission(res)
          ? 'debug'
          : error || res.statusCode >= 500
            ? 'error'
            : res.statusCode >= 400
              ? 'warn'
              : 'info',
      autoLogging: { ignore: options.quiet ?? ((req: IncomingMessage) => PROBE.test(req.url ?? '')) },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      ...(pretty
        ? {
            transport: {
              target: 'pino-pretty',
              options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,app,req,res' },
            },
          }
        : {}),
    },
  };
}
