import {
  applyDecorators,
  createParamDecorator,
  ForbiddenException,
  Injectable,
  Logger,
  ServiceUnavailableException,
  SetMetadata,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiForbiddenResponse } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { SettingsError } from '../settings';

/** The settings of `commonSettings` this reads. */
export interface AuthSettings {
  AUTH_JWT_SECRET?: string;
  AUTH_JWKS_URL?: string;
  AUTH_JWT_ISSUER?: string;
  AUTH_JWT_AUDIENCE?: string;
}

/** How tokens are checked: HS256 with a shared secret, or the asymmetric keys of a JWKS. */
export type AuthOptions = ({ secret: string } | { jwksUrl: string }) & { issuer?: string; audience?: string };

/** The options the settings ask for; undefined when authentication is off (neither key source set). */
export function authOptions(settings: AuthSettings): AuthOptions | undefined {
  const {
    AUTH_JWT_SECRET: secret,
    AUTH_JWKS_URL: jwksUrl,
    AUTH_JWT_ISSUER: issuer,
    AUTH_JWT_AUDIENCE: audience,
  } = settings;
  if (secret !== undefined && jwksUrl !== undefined) {
    throw new SettingsError(
      'Invalid setting AUTH_JWKS_URL: expected either AUTH_JWT_SECRET or AUTH_JWKS_URL, not both (got both)',
    );
  }
  const claims = { ...(issuer !== undefined && { issuer }), ...(audience !== undefined && { audience }) };
  if (secret !== undefined) return { secret, ...claims };
  if (jwksUrl !== undefined) return { jwksUrl, ...claims };
  return undefined;
}

/** Who a verified token speaks for: its `sub`, and the scopes of its `scope` claim (space separated). */
export interface Principal {
  subject: string;
  scopes: ReadonlySet<string>;
}

/** The signature algorithms a JWKS key may use; `none` and HMAC (a public key used as a secret) never. */
const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** jose's errors that say the keys could not be had (the JWKS unreachable, slow or malformed), not that the token is bad. */
const KEY_SOURCE_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/** 401, with the `WWW-Authenticate` challenge of RFC 6750. */
export class BearerChallenge extends UnauthorizedException {
  constructor(
    message: string,
    readonly challenge: string,
  ) {
    super([message]);
  }
}

/**
 * Verifies bearer tokens (jose's jwtVerify): the signature with the secret or a key of the JWKS, the
 * algorithm, `exp` and `nbf`, `sub` present, `iss` and `aud` when set. Each request's token is
 * verified once, whoever asks (the rate limiter, then the guard).
 */
export class Authenticator {
  private readonly key?: JWTVerifyGetKey;
  private readonly verifyOptions: JWTVerifyOptions;
  private readonly verified = new WeakMap<object, Promise<Principal | undefined>>();

  constructor(readonly options: AuthOptions | undefined) {
    if (!options) {
      this.verifyOptions = {};
      return;
    }
    if ('secret' in options) {
      const secret = new TextEncoder().encode(options.secret);
      this.key = () => secret;
    } else {
      // Fetched when a token names a key it does not know yet, then cached (jose's defaults: 10 min, 5 s timeout).
      this.key = createRemoteJWKSet(new URL(options.jwksUrl));
    }
    this.verifyOptions = {
      algorithms: 'secret' in options ? ['HS256'] : ASYMMETRIC,
      requiredClaims: ['sub', 'exp'],
      ...(options.issuer !== undefined && { issuer: options.issuer }),
      ...(options.audience !== undefined && { audience: options.audience }),
    };
  }

  get enabled(): boolean {
    return this.key !== undefined;
  }

  /**
   * The principal of the request's bearer token; undefined when authentication is off or the
   * request has no Authorization header. Rejects with a BearerChallenge (401) for a token that does
   * not verify, a ServiceUnavailableException when the JWKS cannot be fetched.
   */
  principalOf(req: Request): Promise<Principal | undefined> {
    let verified = this.verified.get(req);
    if (!verified) {
      verified = this.verify(req.headers.authorization);
      this.verified.set(req, verified);
    }
    return verified;
  }

  private async verify(authorization: string | undefined): Promise<Principal | undefined> {
    if (!this.key || authorization === undefined) return undefined;
    const token = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization)?.[1];
    if (!token) {
      throw new BearerChallenge('the Authorization header must be "Bearer <token>"', 'error="invalid_request"');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, this.verifyOptions));
    } catch (error) {
      if (error instanceof errors.JOSEError && !KEY_SOURCE_FAILURES.has(error.code)) {
        const message =
          error instanceof errors.JWTExpired ? 'the bearer token has expired' : 'the bearer token is invalid';
        throw new BearerChallenge(message, 'error="invalid_token"');
      }
      new Logger('Authenticator').warn(`cannot verify tokens: ${(error as Error).message}`);
      throw new ServiceUnavailableException(['tokens cannot be verified at the moment; try again later']);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new BearerChallenge('the bearer token is invalid', 'error="invalid_token"');
    }
    const scope = payload['scope'];
    return { subject: payload.sub, scopes: new Set(typeof scope === 'string' ? scope.split(' ').filter(Boolean) : []) };
  }
}

const PUBLIC = 'platform:public';
const SCOPES = 'platform:scopes';
const SELF_AUTHENTICATED = 'platform:self-authenticated';

/** Open to anyone and never throttled, whatever the settings: the health probes and the metrics scrape. */
export const Unguarded = () => applyDecorators(SetMetadata(PUBLIC, true), SkipThrottle());

/**
 * The route authenticates its callers itself (the bridge's producers, whose credential may be a key
 * rather than a token): the app-wide AuthGuard lets it through; the rate limit still applies.
 */
export const AuthenticatesItself = () => SetMetadata(SELF_AUTHENTICATED, true);

export function isUnguarded(reflector: Reflector, context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()]) === true;
}

/** With authentication on, the caller's token must carry `scope` (403 otherwise). */
export const RequiresScope = (scope: string) =>
  applyDecorators(
    SetMetadata(SCOPES, [scope]),
    ApiForbiddenResponse({ description: `the token's scope lacks ${scope}` }),
  );

const principals = new WeakMap<object, Principal>();

/**
 * With authentication on (AUTH_JWT_SECRET or AUTH_JWKS_URL), every route but the @Unguarded ones
 * needs a bearer token that verifies (401 with `WWW-Authenticate: Bearer` otherwise) and carries
 * the route's @RequiresScope (403 otherwise). Off, it lets everything through.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.authenticator.enabled || context.getType() !== 'http' || isUnguarded(this.reflector, context)) {
      return true;
    }
    if (this.reflector.getAllAndOverride<boolean>(SELF_AUTHENTICATED, [context.getHandler(), context.getClass()])) {
      return true;
    }
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const principal = await this.authenticate(req, http.getResponse<Response>());
    principals.set(req, principal);
    const required = this.reflector.getAllAndMerge<string[]>(SCOPES, [context.getHandler(), context.getClass()]);
    const missing = required.filter((scope) => !principal.scopes.has(scope));
    if (missing.length) throw new ForbiddenException(missing.map((scope) => `the token's scope lacks ${scope}`));
    return true;
  }

  private async authenticate(req: Request, res: Response): Promise<Principal> {
    try {
      const principal = await this.authenticator.principalOf(req);
      if (!principal) throw new BearerChallenge('a bearer token is required (Authorization: Bearer <token>)', '');
      return principal;
    } catch (error) {
      if (error instanceof BearerChallenge) {
        res.setHeader(
          'WWW-Authenticate',
          error.challenge ? `Bearer realm="api", ${error.challenge}` : 'Bearer realm="api"',
        );
      }
      throw error;
    }
  }
}

/** The authenticated customer (the token's `sub`), or undefined when authentication is off. */
export const CurrentCustomer = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined =>
    principals.get(context.switchToHttp().getRequest<Request>())?.subject,
);

/**
 * The customer a request reads or acts for. With authentication on (`current` set), a customer the
 * request names must be the authenticated one (403 otherwise) and none named means that one; off,
 * what the request names (undefined: every customer).
 */
export function customerScope(named: string | undefined, current: string | undefined): string | undefined {
  if (current !== undefined && named !== undefined && named !== current) {
    throw new ForbiddenException(['customerId must be the authenticated customer']);
  }
  return named ?? current;
}
