import { Injectable, type NestMiddleware } from '@nestjs/common';
import { newTraceparent, parseTraceparent } from '@shop/contracts';
import { TraceContext, traceparentOfActiveSpan } from '@shop/tracing';
import type { NextFunction, Request, Response } from 'express';

/**
 * Continues the caller's W3C trace (`traceparent` header) through the request, or starts one: the
 * events a request publishes through the outbox become children of it. With tracing on, the request
 * is the HTTP server span of OpenTelemetry (which continued the header already). The answer carries
 * the request's `traceparent`, so a client can find its order's trace.
 */
@Injectable()
export class TraceMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const incoming = req.header('traceparent');
    const continued = incoming !== undefined && parseTraceparent(incoming) !== undefined;
    const traceparent = traceparentOfActiveSpan() ?? (continued ? incoming : newTraceparent());
    const tracestate = continued ? req.header('tracestate') : undefined;
    res.setHeader('traceparent', traceparent);
    TraceContext.run({ traceparent, ...(tracestate ? { tracestate } : {}) }, next);
  }
}
