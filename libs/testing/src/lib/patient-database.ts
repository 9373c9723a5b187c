/**
 * The database timeouts of an app under test, as environment for its settings: on a busy 2-core
 * machine, waiting for a pooled connection or a lock is slow, never an outage.
 */
export const PATIENT_DATABASE_ENV = {
  DATABASE_CONNECT_TIMEOUT_MS: '60000',
  DATABASE_STATEMENT_TIMEOUT_MS: '60000',
} as const;
