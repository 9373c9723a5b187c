import {
  createParamDecorator,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { HTTP_PRODUCERS, type HttpProducer } from '@shop/contracts';
import { Authenticator } from '@shop/platform';
import { BRIDGE_SETTINGS, type BridgeSettings } from '../config/bridge.settings';

const producers = new WeakMap<object, string>();

/**
 * Who is publishing: each HTTP producer has its own credential, sent as `Authorization: Bearer ...`:
 * its key of BRIDGE_PRODUCER_KEYS, or (with AUTH_JWT_SECRET or AUTH_JWKS_URL) a token whose `sub`
 * is the producer. Anything else is a 401; whether the producer owns the event's type is the
 * controller's to say (403). The route is exempt from the app-wide AuthGuard: a producer key is not
 * a token, and this guard checks tokens itself.
 */
@Injectable()
export class ProducerGuard implements CanActivate {
  private readonly keys: Array<{ producer: HttpProducer; digest: Buffer }>;

  constructor(
    private readonly authenticator: Authenticator,
    @Inject(BRIDGE_SETTINGS) settings: BridgeSettings,
  ) {
    this.keys = [...settings.BRIDGE_PRODUCER_KEYS].map(([producer, key]) => ({ producer, digest: sha256(key) }));
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const credential = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!credential) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="producers"');
      throw new UnauthorizedException([
        'a producer credential is required: Authorization: Bearer <producer key or token>',
      ]);
    }
    // Every key is compared, in constant time, whichever matches.
    const digest = sha256(credential);
    let producer: string | undefined;
    for (const key of this.keys) if (timingSafeEqual(key.digest, digest)) producer = key.producer;
    if (!producer && this.authenticator.enabled && credential.split('.').length === 3) {
      producer = (await this.authenticator.principalOf(req))?.subject;
    }
    if (!producer) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="producers", error="invalid_token"');
      throw new UnauthorizedException([
        this.keys.length === 0 && !this.authenticator.enabled
          ? 'no producer credentials are configured (BRIDGE_PRODUCER_KEYS, or AUTH_JWT_SECRET / AUTH_JWKS_URL)'
          : `the credential is neither a producer key (${HTTP_PRODUCERS.join(', ')}) nor a valid token`,
      ]);
    }
    producers.set(req, producer);
    return true;
  }
}

/** The authenticated producer (ProducerGuard): an HTTP producer, or whatever `sub` a valid token named. */
export const CurrentProducer = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string => producers.get(context.switchToHttp().getRequest()) ?? '',
);

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
