import { Logger, ValidationPipe, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { HttpErrorFilter, LOG_LEVELS, loadSettings, loggingParams, SettingsError } from '@shop/platform';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Logger as PinoLogger, LoggerModule } from 'nestjs-pino';
import { AppModule } from './app.module';
import { consoleSettings, type ConsoleSettings } from './config/console.settings';
import { closeAllStreams } from './http/sse';
import { staticDir } from './static-dir';

const NAME = 'console';

/**
 * Starts the console as every app starts (SPEC.md): settings validated (one line naming a bad one,
 * exit 1), pino JSON logs, errors in Nest's shape, security headers, /health and /metrics, graceful
 * shutdown on SIGTERM and SIGINT (the live streams are ended first, so that the server can close).
 * It has no database and no broker, so it does not use runApp of @shop/platform, which needs both.
 */
export async function runConsole(): Promise<NestExpressApplication> {
  let settings: ConsoleSettings;
  try {
    settings = loadSettings(consoleSettings);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${NAME}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = new Logger(NAME);
  Logger.overrideLogger(LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(settings.LOG_LEVEL) + 1) as LogLevel[]);
  const dir = staticDir(settings.CONSOLE_STATIC_DIR);

  const app = await NestFactory.create<NestExpressApplication>(
    {
      module: class ConsoleRoot {},
      imports: [
        LoggerModule.forRoot(
          loggingParams(NAME, settings.LOG_LEVEL, settings.LOG_FORMAT, {
            // probes, scrapes, the page's files and its status reads are not worth a line each
            quiet: (req) =>
              req.method === 'GET' &&
              !/^\/api\/(orders|dead-letters)/.test(req.url ?? '') &&
              !/^\/api\/live\//.test(req.url ?? ''),
          }),
        ),
        AppModule.forRoot(settings, dir),
      ],
    },
    { bodyParser: false, bufferLogs: true },
  );
  app.useLogger(app.get(PinoLogger));
  app.disable('x-powered-by');
  // The page loads its own script, style and icon only, and talks to this server only. The Swagger UI
  // at /docs gets helmet's default policy (its own files, inline styles), as the other apps' /docs.
  const docsHeaders = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  const pageHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Plain HTTP on localhost: no HSTS, no upgrade.
    strictTransportSecurity: false,
  });
  app.use((req: Request, res: Response, next: NextFunction) =>
    (/^\/docs(\/|$)/.test(req.path) ? docsHeaders : pageHeaders)(req, res, next),
  );
  app.useBodyParser('json', { limit: '64kb', type: ['application/json', 'application/*+json'] });
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  // The page: hashed assets cached for good, index.html never.
  app.useStaticAssets(dir, {
    index: 'index.html',
    setHeaders: (res: Response, path: string) =>
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  app.use('/api', (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('cache-control', 'no-store');
    next();
  });
  SwaggerModule.setup(
    'docs',
    app,
    () =>
      SwaggerModule.createDocument(
        app,
        new DocumentBuilder()
          .setTitle('console service')
          .setDescription(
            "The operations console's page API: each /api call is one call to one app's public API, answered as " +
              '{app, ok, status, body} or {app, ok: false, status: null, error}; /api/live/* are Server-Sent Events.',
          )
          .setVersion('1')
          .build(),
      ),
    { jsonDocumentUrl: 'docs/openapi.json' },
  );
  app.enableShutdownHooks();
  const close = app.close.bind(app);
  app.close = async () => {
    closeAllStreams();
    await close();
  };
  process.once('SIGTERM', closeAllStreams);
  process.once('SIGINT', closeAllStreams);

  await app.listen(settings.PORT);
  if (!existsSync(join(dir, 'index.html'))) {
    logger.warn(`the page is not built yet (${dir}/index.html): run npx nx build console`);
  }
  if (!settings.CONSOLE_API_TOKEN) logger.log('no CONSOLE_API_TOKEN: the apps are called without a token');
  logger.log(`listening on port ${settings.PORT}`);
  return app;
}
