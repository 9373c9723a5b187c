import { Injectable, type NestMiddleware } from '@nestjs/common';
import { newTraceparent, parseTraceparent } from '@shop/contracts';
import { TraceContext } from '@shop/messaging';
import type { NextFunction, Request, Response } from 'express';

/**
 * Continues the caller's W3C trace (`traceparent` header) through the request, or starts one: the
 * events a request publishes through the outbox become children of it. The answer carries the
 * request's `traceparent`, so a client can find its order's trace.
 */
@Injectable()
export class TraceMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const incoming = req.header('traceparent');
    const traceparent = incoming && parseTraceparent(incoming) ? incoming : newTraceparent();
    const tracestate = incoming === traceparent ? req.header('tracestate') : undefined;
    res.setHeader('traceparent', traceparent);
    TraceContext.run({ traceparent, ...(tracestate ? { tracestate } : {}) }, next);
  }
}
