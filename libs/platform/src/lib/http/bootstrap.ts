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
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { Logger as PinoLogger, LoggerModule } from 'nestjs-pino';
import type { z } from 'zod';
import { ensureDatabase } from '../database';
import { loggingParams, type LogFormat } from '../logging/logging';
import { LOG_LEVELS, loadSettings, SettingsError, type LogLevelSetting } from '../settings';
import { stopTelemetry } from '../telemetry/telemetry';

/** SPEC.md: a request body over 64 KiB is a 413. */
export const BODY_LIMIT = '64kb';

export interface AppDefinition<S extends z.ZodRawShape> {
  /** The app's name, as in SPEC.md (`orders`, ...). */
  name: string;
  description: string;
  /** Its settings, read from the environment (see `commonSettings`). */
  settings: S;
  /** The root module for these settings. */
  module: (settings: z.infer<z.ZodObject<S>>) => DynamicModule | Type;
}

type BaseSettings = { PORT: number; DATABASE_URL: string; LOG_LEVEL: LogLevelSetting; LOG_FORMAT: LogFormat };

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
 * setup for all (64 KiB JSON bodies, validation in Nest's error shape, OpenAPI at /docs), graceful
 * shutdown on SIGTERM and SIGINT.
 */
export async function runApp<S extends z.ZodRawShape>(definition: AppDefinition<S>): Promise<NestExpressApplication> {
  let settings: z.infer<z.ZodObject<S>> & BaseSettings;
  try {
    settings = loadSettings(definition.settings) as z.infer<z.ZodObject<S>> & BaseSettings;
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
    if (await ensureDatabase(settings.DATABASE_URL)) logger.log('created its database');
  } catch (error) {
    process.stderr.write(`${definition.name}: ${(error as Error).message}\n`);
    process.exit(1);
  }

  const root: DynamicModule = {
    module: AppRoot,
    imports: [
      LoggerModule.forRoot(loggingParams(definition.name, settings.LOG_LEVEL, settings.LOG_FORMAT)),
      definition.module(settings),
    ],
  };
  const app = await NestFactory.create<NestExpressApplication>(root, { bodyParser: false, bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  configureHttp(app);
  setUpOpenApi(app, definition);
  app.enableShutdownHooks();
  await app.listen(settings.PORT);
  logger.log(`listening on port ${settings.PORT}`);
  return app;
}

/** The HTTP behaviour every app shares. */
function configureHttp(app: NestExpressApplication): void {
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.use(bodyParserErrors);
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // A missing body is validated as {} (and its required fields reported), not skipped.
      transformOptions: { exposeUnsetFields: false },
    }),
  );
  app.disable('x-powered-by');
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
  res.status(status).json({ statusCode: status, error: STATUS_CODES[status], message: [message] });
}

function setUpOpenApi(app: NestExpressApplication, definition: { name: string; description: string }): void {
  const config = new DocumentBuilder()
    .setTitle(`${definition.name} service`)
    .setDescription(definition.description)
    .setVersion('1')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
}
