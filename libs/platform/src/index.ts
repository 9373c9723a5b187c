export { loadSettings, setting, commonSettings, SettingsError, LOG_LEVELS, type LogLevelSetting } from './lib/settings';
export { brokerSettings, type BrokerSettings } from './lib/broker-settings';
export { brokerConnection, checkBrokerSettings, type BrokerConnection } from './lib/broker-connection';
export { ensureDatabase } from './lib/database';
export {
  databaseConnection,
  databaseModule,
  runMigrationsLocked,
  type DatabaseConnection,
  type DatabaseModuleOptions,
} from './lib/database.module';
export { runApp, BODY_LIMIT, type AppDefinition } from './lib/http/bootstrap';
export { QueryParams } from './lib/http/input';
export { PlatformModule } from './lib/platform.module';
export { Metrics, HttpMetricsMiddleware } from './lib/metrics/metrics';
export {
  Authenticator,
  AuthenticatesItself,
  AuthGuard,
  CurrentCustomer,
  RequiresScope,
  Unguarded,
  authOptions,
  customerScope,
  type AuthOptions,
  type Principal,
} from './lib/http/auth';
export { HttpErrorFilter, errorBody, type ErrorBody } from './lib/http/errors';
export { loggingParams, LOG_FORMATS, type LogFormat } from './lib/logging/logging';
export {
  AdmissionControl,
  outboxSignal,
  type Admission,
  type AdmissionOptions,
  type LoadReading,
  type LoadSignal,
} from './lib/admission/admission-control';
export { AdmissionGuard } from './lib/admission/admission.guard';
export { admissionSettings, admissionOptions, type AdmissionSettings } from './lib/admission/admission-settings';
