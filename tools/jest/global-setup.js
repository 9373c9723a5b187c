/**
 * Jest global setup: one broker and one database for the whole run, shared by every test worker
 * through the environment (tests isolate themselves with a vhost and a database of their own, see
 * @shop/testing).
 *
 * - `RABBITMQ_URL` / `DATABASE_URL` set (CI, or local services): checked to answer, nothing started.
 * - unset: started with testcontainers, and the variables set for the workers, which inherit them;
 *   `RABBITMQ_MANAGEMENT_URL` too, and `RABBITMQ_FROM_TESTCONTAINERS=1` so that private brokers
 *   (`startPrivateBroker`) are containers as well.
 * - unset and no Docker: RabbitMQ and PostgreSQL on 127.0.0.1's standard ports, when they answer
 *   (guest/guest, postgres with trust auth: a developer machine's defaults); else one line saying what to do.
 *
 * Runs in Jest's parent process, once per project in a multi-project run: the variables set by the
 * first call make the next ones reuse the same containers. global-teardown.js stops what was started.
 */
const RABBITMQ_IMAGE = 'rabbitmq:4-management-alpine';
const POSTGRES_IMAGE = 'postgres:17-alpine';
const NO_SERVICES = 'Set RABBITMQ_URL and DATABASE_URL, or start Docker so that testcontainers can run them';
const CHECK_TIMEOUT_MS = 3_000;

/** Shared with global-teardown.js: Jest may load this file once per project, globalThis is one. */
const STATE = Symbol.for('@shop/jest-test-services');

module.exports = async function globalSetup() {
  const state = (globalThis[STATE] ??= { containers: [], setEnv: [], checked: new Set() });
  try {
    await checkConfiguredServices(state);
    await startMissingServices(state);
  } catch (error) {
    // One line, not a stack trace: the message says what to do.
    const message = error instanceof SetupError ? error.message : `Test services could not start: ${describe(error)}`;
    const oneLine = new Error(message.replace(/\s*\n\s*/g, ' '));
    oneLine.stack = oneLine.message;
    throw oneLine;
  }
};

class SetupError extends Error {}

/** A dead service should fail the run at once, not as fifty test timeouts. */
async function checkConfiguredServices(state) {
  const checks = [];
  const brokerUrl = process.env.RABBITMQ_URL;
  const databaseUrl = process.env.DATABASE_URL;
  if (brokerUrl && !state.checked.has(brokerUrl))
    checks.push(checkBroker(brokerUrl).then(() => state.checked.add(brokerUrl)));
  if (databaseUrl && !state.checked.has(databaseUrl)) {
    checks.push(checkDatabase(databaseUrl).then(() => state.checked.add(databaseUrl)));
  }
  const failures = (await Promise.allSettled(checks)).filter((result) => result.status === 'rejected');
  if (failures.length) throw new SetupError(failures.map((failure) => failure.reason.message).join('; '));
}

async function checkBroker(url) {
  const amqp = require('amqplib');
  try {
    const connection = await amqp.connect(url, { timeout: CHECK_TIMEOUT_MS });
    connection.on('error', () => undefined);
    await connection.close();
  } catch (error) {
    throw new SetupError(`RabbitMQ at RABBITMQ_URL=${redact(url)} does not answer: ${describe(error)}`);
  }
}

async function checkDatabase(url) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new SetupError(`PostgreSQL at DATABASE_URL=${redact(url)} does not answer: ${describe(error)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function startMissingServices(state) {
  const needBroker = !process.env.RABBITMQ_URL;
  const needDatabase = !process.env.DATABASE_URL;
  if (!needBroker && !needDatabase) return;

  try {
    await assertDockerAvailable();
  } catch (noDocker) {
    // No Docker: RabbitMQ and PostgreSQL on this machine's standard ports, if they answer.
    if (await useLocalServices(state, needBroker, needDatabase)) return;
    throw new SetupError(`${noDocker.message}; nothing answers on 127.0.0.1:5672 and :5432 either`);
  }
  const started = await Promise.allSettled([
    needBroker ? startBroker() : undefined,
    needDatabase ? startDatabase() : undefined,
  ]);
  for (const result of started) {
    if (result.status === 'fulfilled' && result.value) state.containers.push(result.value.container);
  }
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.allSettled(state.containers.splice(0).map((container) => container.stop()));
    throw new SetupError(`Could not start the test services with testcontainers: ${describe(failed.reason)}`);
  }
  for (const result of started) {
    if (result.status !== 'fulfilled' || !result.value) continue;
    for (const [name, value] of Object.entries(result.value.env)) {
      process.env[name] = value;
      state.setEnv.push(name);
      if (name === 'RABBITMQ_URL' || name === 'DATABASE_URL') state.checked.add(value);
    }
  }
}

const LOCAL = {
  RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
};

async function useLocalServices(state, needBroker, needDatabase) {
  const wanted = Object.entries(LOCAL).filter(([name]) => (name === 'RABBITMQ_URL' ? needBroker : needDatabase));
  const checks = await Promise.allSettled(
    wanted.map(([name, url]) => (name === 'RABBITMQ_URL' ? checkBroker(url) : checkDatabase(url))),
  );
  if (checks.some((check) => check.status === 'rejected')) return false;
  for (const [name, url] of wanted) {
    process.env[name] = url;
    state.setEnv.push(name);
    state.checked.add(url);
  }
  process.stderr.write(
    `No Docker for testcontainers: testing against ${wanted.map(([, url]) => redact(url)).join(' and ')}\n`,
  );
  return true;
}

async function assertDockerAvailable() {
  let testcontainers;
  try {
    testcontainers = require('testcontainers');
  } catch (error) {
    const engines = safely(() => require('testcontainers/package.json').engines.node);
    throw new SetupError(
      `${NO_SERVICES} (testcontainers does not load on Node ${process.version}${engines ? `, it needs ${engines}` : ''}: ${describe(error)})`,
    );
  }
  try {
    await testcontainers.getContainerRuntimeClient();
  } catch {
    throw new SetupError(NO_SERVICES);
  }
}

async function startBroker() {
  const { RabbitMQContainer } = require('@testcontainers/rabbitmq');
  const container = await new RabbitMQContainer(RABBITMQ_IMAGE)
    // The management API lists a new connection only at the next statistics tick (5 s by default),
    // which closeAllConnections() waits for.
    .withCopyContentToContainer([
      { content: 'collect_statistics_interval = 500\n', target: '/etc/rabbitmq/conf.d/90-tests.conf' },
    ])
    .start();
  const host = container.getHost();
  return {
    container,
    env: {
      RABBITMQ_URL: `amqp://guest:guest@${host}:${container.getMappedPort(5672)}`,
      RABBITMQ_MANAGEMENT_URL: `http://guest:guest@${host}:${container.getMappedPort(15672)}`,
      RABBITMQ_FROM_TESTCONTAINERS: '1',
    },
  };
}

async function startDatabase() {
  const { PostgreSqlContainer } = require('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer(POSTGRES_IMAGE).start();
  // The admin database: tests create their own with createTestDatabase().
  const url = new URL(container.getConnectionUri());
  url.pathname = '/postgres';
  return { container, env: { DATABASE_URL: url.toString() } };
}

function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable URL>';
  }
}

/** Node's connection errors can be AggregateErrors (IPv4 and IPv6 tried) with an empty message. */
function describe(error) {
  if (!error) return String(error);
  if (error.message) return error.message;
  if (Array.isArray(error.errors) && error.errors.length) return error.errors.map(describe).join(', ');
  return error.code || String(error);
}

function safely(read) {
  try {
    return read();
  } catch {
    return undefined;
  }
}
