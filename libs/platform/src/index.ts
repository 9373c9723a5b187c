export { loadSettings, setting, commonSettings, SettingsError, LOG_LEVELS, type LogLevelSetting } from './lib/settings';
export { ensureDatabase } from './lib/database';
export { databaseModule, runMigrationsLocked, type DatabaseModuleOptions } from './lib/database.module';
export { runApp, BODY_LIMIT, type AppDefinition } from './lib/http/bootstrap';
export { PlatformModule } from './lib/platform.module';
export { Metrics } from './lib/metrics/metrics';
