import {
  Logger,
  Module,
  ValidationPipe,
  type OnApplicationShutdown,
  type DynamicModule,
  type LogLevel,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger as PinoLogger, LoggerModule } from 'nestjs-pino';
import { MessagingService, startEventTransport } from '@shop/messaging';
import type { z } from 'zod';
import { checkBrokerSettings } from '../broker-connection';
import type { BrokerSettings } from '../broker-settings';
import { ensureDatabase } from '../database';
import { loggingParams, type LogFormat } from '../logging/logging';
import { LOG_LEVELS, loadSettings, SettingsError, type LogLevelSetting } from '../settings';
import { stopTelemetry } from '../telemetry/telemetry';
import { authOptions, type AuthOptions, type AuthSettings } from './auth';
import { answerClientErrors, HttpErrorFilter, sendError } from './errors';
import { HttpSecurityModule } from './http-security.module';
import { requestBodyCheck, StorableInputPipe } from './input';
import type { RateLimitSettings } from './rate-limit';

/** SPEC.md: a request body over 64 KiB is a 413. */
export const BODY_LIMIT = '64kb';
const BODY_LIMIT_BYTES = 64 * 1024;

export interface AppDefinition<S extends z.ZodRawShape> {
  /** The app's name, as in SPEC.md (`orders`, ...). */
  name: string;
  description: string;
  /** Its settings, read from the environment (see `commonSettings`). */
  settings: S;
  /** The root module for these settings. */
  module: (settings: z.infer<z.ZodObject<S>>) => DynamicModule | Type;
}

type BaseSettings = {
  PORT: number;
  DATABASE_URL: string;
  LOG_LEVEL: LogLevelSetting;
  LOG_FORMAT: LogFormat;
} & AuthSettings &
  RateLimitSettings &
  BrokerSettings;

/** The root of every app: its logger, then its own module; last on shutdown, the spans are flushed. */
@Module({})
class AppRoot implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return stopTelemetry();
  }
}

/**
 * Starts an app the way SPEC.md says every app starts: settings validated (one clear line and exit 1
 * when one is bad), its database created when missing (migrations run with the module), one HTTP
 * setup for all (64 KiB JSON bodies, validation and every error in Nest's shape, security headers,
 * the rate limit and bearer authentication of HttpSecurityModule, OpenAPI at /docs), graceful
 * shutdown on SIGTERM and SIGINT.
 */
export async function runApp<S extends z.ZodRawShape>(definition: AppDefinition<S>): Promise<NestExpressApplication> {
  let settings: z.infer<z.ZodObject<S>> & BaseSettings;
  let auth: AuthOptions | undefined;
  try {
    settings = loadSettings(definition.settings) as z.infer<z.ZodObject<S>> & BaseSettings;
    auth = authOptions(settings);
    checkBrokerSettings(settings);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const logger = new Logger(definition.name);
  const logLevels = LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(settings.LOG_LEVEL) + 1) as LogLevel[];
  Logger.overrideLogger(logLevels);
  try {
    const created = await ensureDatabase(settings.DATABASE_URL, {
      onWait: (error, retryInMs) =>
        logger.warn(`waiting for the database (retry in ${retryInMs} ms): ${error.message}`),
    });
    if (created) logger.log('created its database');
  } catch (error) {
    process.stderr.write(`${definition.name}: ${(error as Error).message}\n`);
    process.exit(1);
  }

  const root: DynamicModule = {
    module: AppRoot,
    imports: [
      LoggerModule.forRoot(loggingParams(definition.name, settings.LOG_LEVEL, settings.LOG_FORMAT)),
      HttpSecurityModule.forRoot(auth, settings),
      definition.module(settings),
    ],
  };
  const app = await NestFactory.create<NestExpressApplication>(root, { bodyParser: false, bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  if (!auth) logger.warn('authentication is off (neither AUTH_JWT_SECRET nor AUTH_JWKS_URL is set): the API is open');
  configureHttp(app);
  setUpOpenApi(app, definition, auth !== undefined);
  app.enableShutdownHooks();
  // The event handlers (@ConsumeEvent) are a Nest microservice on the messaging library's transport,
  // beside the HTTP API: it starts their consumers as soon as the broker is reachable.
  try {
    await startEventTransport(app);
  } catch (error) {
    // A handler the contracts or the queue names refuse: say which, in one line, and stop.
    process.stderr.write(`${definition.name}: ${(error as Error).message}\n`);
    await app.close();
    process.exit(1);
  }
  // A broker that lacks what the handlers need (an ordered handler without the consistent-hash
  // plugin), which no reconnect changes: the same one line, and stop.
  app.get(MessagingService).onFatal((error) => {
    process.stderr.write(`${definition.name}: ${error.message}\n`);
    void app.close().finally(() => process.exit(1));
  });
  await app.listen(settings.PORT);
  logger.log(`listening on port ${settings.PORT}`);
  return app;
}

/** The HTTP behaviour every app shares (exported for the tests, which run it on apps of their own). */
export function configureHttp(app: NestExpressApplication): void {
  app.disable('x-powered-by');
  // Security headers on every answer (helmet). The API answers JSON only, so its Content Security
  // Policy allows nothing; the Swagger UI at /docs loads its own scripts and styles from 'self',
  // which helmet's default policy allows (it has no inline script), but over plain HTTP, so without
  // upgrade-insecure-requests.
  const apiHeaders = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  const docsHeaders = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  app.use((req: Request, res: Response, next: NextFunction) =>
    (/^\/docs(\/|$)/.test(req.path) ? docsHeaders : apiHeaders)(req, res, next),
  );
  app.use(requestBodyCheck(BODY_LIMIT_BYTES, BODY_LIMIT));
  app.useBodyParser('json', { limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
  app.use(bodyParserErrors);
  app.useGlobalFilters(new HttpErrorFilter());
  answerClientErrors(app.getHttpServer());
  app.useGlobalPipes(
    new StorableInputPipe(),
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // A missing body is validated as {} (and its required fields reported), not skipped.
      transformOptions: { exposeUnsetFields: false },
    }),
  );
}

/** body-parser errors (too large, malformed JSON, bad charset) in Nest's JSON error shape, not HTML. */
function bodyParserErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  const status = (error as { status?: number; type?: string }).status;
  if (!status || status < 400 || status >= 500) return next(error);
  const type = (error as { type?: string }).type;
  const message =
    type === 'entity.too.large'
      ? `request body larger than ${BODY_LIMIT}`
      : type === 'entity.parse.failed'
        ? 'request body is not valid JSON'
        : (error as Error).message;
  // The rest of a body too large is not read: the connection closes after the answer.
  if (type === 'entity.too.large') res.setHeader('Connection', 'close');
  sendError(res, status, [message]);
}

function setUpOpenApi(app: NestExpressApplication, definition: { name: string; description: string }, auth: boolean) {
  const builder = new DocumentBuilder()
    .setTitle(`${definition.name} service`)
    .setDescription(definition.description)
    .setVersion('1');
  const config = (
    auth ? builder.addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }) : builder
  ).build();
  SwaggerModule.setup('docs', app, () => withSecurityAnswers(SwaggerModule.createDocument(app, config), auth), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
}

/**
 * Adds what the guards answer to every operation but the health probes': 429, and with
 * authentication on the bearer requirement and its 401.
 */
function withSecurityAnswers(document: OpenAPIObject, auth: boolean): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    if (path.startsWith('/health')) continue;
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      if (auth) {
        operation.security = [{ bearer: [] }];
        operation.responses['401'] ??= { description: 'no bearer token, or one that does not verify' };
      }
      operation.responses['429'] ??= { description: 'too many requests: see Retry-After' };
    }
  }
  return document;
}
