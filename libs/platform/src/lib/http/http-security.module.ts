import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AuthGuard, Authenticator, type AuthOptions } from './auth';
import { UnknownQueryInterceptor } from './input';
import { RateLimitGuard, type RateLimitSettings } from './rate-limit';

/**
 * The guards every app's HTTP API runs, in this order: the rate limit (when RATE_LIMIT_MAX is not 0),
 * then authentication and scopes (a pass-through when auth is off); then the check for undeclared
 * query parameters. Routes marked @Unguarded (health, metrics) skip all three.
 */
@Global()
@Module({})
export class HttpSecurityModule {
  static forRoot(auth: AuthOptions | undefined, rateLimit: RateLimitSettings): DynamicModule {
    const limited = rateLimit.RATE_LIMIT_MAX > 0;
    const guards: Provider[] = [
      ...(limited ? [{ provide: APP_GUARD, useClass: RateLimitGuard }] : []),
      { provide: APP_GUARD, useClass: AuthGuard },
    ];
    return {
      module: HttpSecurityModule,
      imports: limited
        ? [
            ThrottlerModule.forRoot({
              throttlers: [{ ttl: rateLimit.RATE_LIMIT_WINDOW_MS, limit: rateLimit.RATE_LIMIT_MAX }],
            }),
          ]
        : [],
      providers: [
        { provide: Authenticator, useValue: new Authenticator(auth) },
        ...guards,
        { provide: APP_INTERCEPTOR, useClass: UnknownQueryInterceptor },
      ],
      exports: [Authenticator],
    };
  }
}
