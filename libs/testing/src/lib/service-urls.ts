/**
 * Where the shared broker and database are. CI and developers with local services export the URLs;
 * otherwise Jest's global setup (tools/jest/global-setup.js) starts them with testcontainers and
 * exports the same variables, which the test workers inherit.
 */
export function rabbitmqUrl(): string {
  return requiredEnv('RABBITMQ_URL');
}

export function databaseUrl(): string {
  return requiredEnv('DATABASE_URL');
}

/** Set by the testcontainers path only: the broker's management HTTP API, credentials in the URL. */
export function rabbitmqManagementUrl(): string | undefined {
  return process.env['RABBITMQ_MANAGEMENT_URL'] || undefined;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests through Jest (its global setup starts the service with testcontainers) or export ${name}`,
    );
  }
  return value;
}
