export { createTestDatabase, type TestDatabase } from './lib/test-database';
export { createTestVhost, type CreateTestVhostOptions, type TestBroker } from './lib/test-vhost';
export {
  brokerAdminFromEnv,
  type BrokerAdmin,
  type BrokerAdminFromEnvOptions,
  type BrokerBinding,
  type BrokerClientConnection,
  type BrokerQueue,
} from './lib/broker-admin';
export { dockerAvailable, startPrivateBroker, type PrivateBroker } from './lib/private-broker';
export { LocalRabbitmqNode, localRabbitmqInstalled, type LocalRabbitmqNodeOptions } from './lib/local-rabbitmq-node';
export { LocalRabbitmqCluster, startLocalRabbitmqCluster, type QueueReplicas } from './lib/local-rabbitmq-cluster';
export { startPrivatePostgres, type PrivatePostgres } from './lib/private-postgres';
export type { BrokerTlsOptions } from './lib/broker-tls';
export { createTestCertificates, type TestCertificate, type TestCertificates } from './lib/test-certificates';
export { waitFor, type WaitForOptions } from './lib/wait-for';
export { EventTap } from './lib/event-tap';
export { PATIENT_DATABASE_ENV } from './lib/patient-database';
export {
  handled,
  lockWaiters,
  outboxDrained,
  queryCount,
  sessionsWaitingForLock,
  type SqlQueryable,
} from './lib/database-probes';
export {
  spawnNodeProcess,
  type ChildExit,
  type ChildHandle,
  type SpawnNodeProcessOptions,
} from './lib/spawn-node-process';
export { assertTestDatabaseName, assertTestVhostName } from './lib/test-names';
export { freePort } from './lib/free-port';
export {
  machineInfo,
  describeMachine,
  percentile,
  summarize,
  lineChart,
  barChart,
  stackSvgs,
  markdownTable,
  writeReport,
  formatWithPrettier,
  progressBar,
  parseCompareSides,
  medianOf,
  formatSpread,
  renderCompareSides,
  niceStep,
  escapeXml,
  formatTick,
  formatValue,
  PALETTE,
  SECONDS_STEPS,
  type MachineInfo,
  type MachineInfoOptions,
  type Series,
  type ReferenceLine,
  type LineChartOptions,
  type BarChartOptions,
  type WriteReportOptions,
  type CompareSide,
  type CompareMetric,
} from './lib/report';
export { mulberry32 } from './lib/prng';
