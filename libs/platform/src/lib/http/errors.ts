import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { unavailableDependency } from '@shop/messaging';
import type { Response } from 'express';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** SPEC.md's error shape (Nest's): `{"statusCode", "error", "message": [...]}`. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string[];
}

export function errorBody(status: number, messages: string[]): ErrorBody {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: messages };
}

/** Seconds a client is asked to wait before it tries again after a 503 (with its Idempotency-Key). */
export const RETRY_AFTER_SECONDS = 2;

/** Answers `status` in SPEC.md's error shape. */
export function sendError(res: Response, status: number, messages: string[]): void {
  res.status(status).json(errorBody(status, messages));
}

/**
 * Every error the HTTP API answers, in SPEC.md's shape and without internals: an HttpException
 * keeps its status and messages (`message` always an array); a client error of the HTTP stack
 * (http-errors, which body-parser and Express throw) keeps its status and its message when that
 * is meant to be shown; a dependency out of reach (the database refusing connections, shutting
 * down, a pool with no free connection in time, a statement timeout) is a 503 with Retry-After
 * naming the dependency, so that clients retry and load balancers route elsewhere; anything else
 * (a bug) is a 500 saying no more than that, its details and stack going to the log only, with the
 * request's trace id (HttpExceptions are deliberate answers: not logged,
 * as with Nest's own filter). Bodies without a message (the health checks'
 * details of a 503) are deliberate and pass unchanged.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const [status, body] = this.describe(exception);
    if (res.headersSent) {
      // A stream (Server-Sent Events) that failed after its head: nothing can be said any more.
      res.destroy();
      return;
    }
    // Every 503 (an outage, a readiness probe that fails) says when to come back.
    if (status === 503 && !res.getHeader('Retry-After')) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(status).json(body);
  }

  private describe(exception: unknown): [number, object] {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'string') return [status, errorBody(status, [response])];
      if (!('message' in response)) return [status, response];
      const { message } = response as { message: unknown };
      return [status, errorBody(status, Array.isArray(message) ? message.map(String) : [String(message)])];
    }
    const { status, expose, message } = (exception ?? {}) as { status?: unknown; expose?: unknown; message?: unknown };
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const shown = expose === true && typeof message === 'string' ? message : (STATUS_CODES[status] ?? 'Error');
      return [status, errorBody(status, [shown])];
    }
    const dependency = unavailableDependency(exception, { lostConnection: true });
    if (dependency) {
      this.logger.warn(`${dependency} unavailable: ${(exception as Error)?.message ?? String(exception)}`);
      return [503, errorBody(503, [`the ${dependency} is unavailable; retry in a moment`])];
    }
    this.logger.error(
      exception instanceof Error ? `${exception.name}: ${exception.message}` : String(exception),
      exception instanceof Error ? exception.stack : undefined,
    );
    return [500, errorBody(500, ['internal server error'])];
  }
}

/**
 * Requests Node's HTTP parser refuses before any middleware sees them (headers over 16 KiB, a
 * malformed request line, a request too slow) are answered in SPEC.md's error shape too, instead
 * of Node's bare status line, and their connection closed.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'request headers (URL included) larger than 16 KiB']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request not received in time']
          : [400, 'malformed HTTP request'];
    const body = JSON.stringify(errorBody(status, [message]));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        'X-Content-Type-Options: nosniff\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
