import { HttpException, HttpStatus, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { Authenticator } from './auth';
import { errorBody } from './errors';

/** The settings of `commonSettings` this reads. */
export interface RateLimitSettings {
  RATE_LIMIT_MAX: number;
  RATE_LIMIT_WINDOW_MS: number;
}

/**
 * @nestjs/throttler's guard with one budget per client for the whole API (not one per route): the
 * client is the subject of its bearer token when that verifies, else its IP address. Over budget, a
 * 429 in SPEC.md's error shape with `Retry-After` (seconds). Counted in memory, per process.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.getType() !== 'http';
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    // A token that does not verify counts against its IP (the guard answers it with a 401 next).
    const principal = await this.authenticator.principalOf(req as unknown as Request).catch(() => undefined);
    return principal ? `sub:${principal.subject}` : `ip:${await super.getTracker(req)}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new HttpException(
      errorBody(HttpStatus.TOO_MANY_REQUESTS, [
        `too many requests: at most ${detail.limit} per ${detail.ttl} ms; retry after ${detail.timeToBlockExpire} s`,
      ]),
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
