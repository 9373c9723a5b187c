import type { StartedRabbitMQContainer } from '@testcontainers/rabbitmq';
import { CONTAINER_ADVANCED_CONFIG_PATH, deploymentAdvancedConfig } from './deployment-broker-config';
import { BROKER_TLS_FILES, brokerTlsConfig, listenersAcceptAmqp, type BrokerTlsOptions } from './broker-tls';
import { LocalRabbitmqNode } from './local-rabbitmq-node';
import { waitFor } from './wait-for';

export interface PrivateBroker {
  /** AMQP URL of this broker (default vhost, user guest). It stays the same across `restart()`. */
  url: string;
  /** With `tls`: the amqps:// URL of its TLS listener (then `url` is refused unless `tls.plain`). */
  tlsUrl?: string;
  /** Stops the broker completely and starts it again on the same data; resolves once it accepts AMQP. */
  restart(): Promise<void>;
  /** Stops the broker and throws its data away. */
  stop(): Promise<void>;
  /**
   * The variables under which `brokerAdminFromEnv()` (and so `createTestVhost`) administers this
   * broker: `RABBITMQ_NODENAME` of a local node, or `RABBITMQ_MANAGEMENT_URL` of a container.
   */
  adminEnv: Record<string, string>;
}

/** Same image as the shared broker of tools/jest/global-setup.js. */
export const RABBITMQ_IMAGE = 'rabbitmq:4-management-alpine';

/**
 * A broker of the test's own, for tests that restart or kill the broker: nobody else's connections
 * are dropped. A local `rabbitmq-server` node when the shared broker is a local one (`RABBITMQ_URL`
 * set by the developer or CI) or Docker is unavailable; a RabbitMQ container otherwise.
 * `TEST_PRIVATE_BROKER=local|container` forces the choice. Either loads the deployment's advanced.config
 * (DEPLOYMENT_ADVANCED_CONFIG_FILE), as compose's broker does.
 */
export async function startPrivateBroker(
  label: string,
  options: {
    tls?: BrokerTlsOptions;
    /** Plugins to enable besides the defaults (`rabbitmq_consistent_hash_exchange`, say). */
    plugins?: readonly string[];
  } = {},
): Promise<PrivateBroker> {
  if ((await privateBrokerKind()) === 'container') return startContainerBroker(options.tls, options.plugins);
  const node = await LocalRabbitmqNode.start({
    label,
    tls: options.tls,
    plugins: options.plugins,
    advancedConfig: deploymentAdvancedConfig(),
  });
  return {
    url: node.url,
    tlsUrl: node.tlsUrl,
    restart: () => node.restart(),
    stop: () => node.stop(),
    adminEnv: { RABBITMQ_NODENAME: node.nodeName },
  };
}

async function privateBrokerKind(): Promise<'local' | 'container'> {
  const forced = process.env['TEST_PRIVATE_BROKER'];
  if (forced === 'local' || forced === 'container') return forced;
  // The global setup marks a shared broker it started itself in a container.
  const sharedBrokerIsLocal = !!process.env['RABBITMQ_URL'] && process.env['RABBITMQ_FROM_TESTCONTAINERS'] !== '1';
  if (sharedBrokerIsLocal) return 'local';
  return (await dockerAvailable()) ? 'container' : 'local';
}

/** Whether testcontainers finds a container runtime (a Docker engine) on this machine. */
export async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Where the container's TLS files go: the image reads every file of /etc/rabbitmq/conf.d. */
const CONTAINER_TLS_DIR = '/etc/rabbitmq';

async function startContainerBroker(tls?: BrokerTlsOptions, plugins: readonly string[] = []): Promise<PrivateBroker> {
  const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
  const image = new RabbitMQContainer(RABBITMQ_IMAGE).withCopyContentToContainer([
    { content: deploymentAdvancedConfig(), target: CONTAINER_ADVANCED_CONFIG_PATH, mode: 0o644 },
  ]);
  if (tls) {
    // RabbitMQContainer exposes 5671 already. The files are world-readable (the key too: a throwaway
    // container), as the server does not run as root.
    image.withCopyContentToContainer([
      { content: tls.ca, target: `${CONTAINER_TLS_DIR}/${BROKER_TLS_FILES.ca}`, mode: 0o644 },
      { content: tls.cert, target: `${CONTAINER_TLS_DIR}/${BROKER_TLS_FILES.cert}`, mode: 0o644 },
      { content: tls.key, target: `${CONTAINER_TLS_DIR}/${BROKER_TLS_FILES.key}`, mode: 0o644 },
      {
        content: `${brokerTlsConfig(tls, '5671', CONTAINER_TLS_DIR).join('\n')}\n`,
        target: `${CONTAINER_TLS_DIR}/conf.d/90-shop-tls.conf`,
        mode: 0o644,
      },
    ]);
  }
  const container = await image.start();
  // getAmqpUrl() names no user; the image's default user is guest/guest.
  const url = `amqp://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}`;
  const tlsUrl = tls ? `amqps://guest:guest@${container.getHost()}:${container.getMappedPort(5671)}` : undefined;
  const ready = () =>
    waitFor(() => listenersAcceptAmqp(url, tlsUrl, tls), {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: `${tlsUrl ?? url} to accept AMQP`,
    });
  await ready().catch(async (error: unknown) => {
    await container.stop();
    throw error;
  });
  if (plugins.length > 0) {
    const enabled = await container.exec(['rabbitmq-plugins', 'enable', ...plugins]);
    if (enabled.exitCode !== 0) {
      await container.stop();
      throw new Error(`rabbitmq-plugins enable ${plugins.join(' ')} failed in the container: ${enabled.output}`);
    }
  }
  return {
    url,
    tlsUrl,
    adminEnv: {
      RABBITMQ_MANAGEMENT_URL: `http://guest:guest@${container.getHost()}:${container.getMappedPort(15672)}`,
    },
    // stop_app/start_app rather than a container restart, which may map the port anew.
    restart: async () => {
      await rabbitmqctlIn(container, ['stop_app']);
      await rabbitmqctlIn(container, ['start_app']);
      await ready();
    },
    stop: async () => {
      await container.stop();
    },
  };
}

async function rabbitmqctlIn(container: StartedRabbitMQContainer, args: string[]): Promise<void> {
  const result = await container.exec(['rabbitmqctl', ...args]);
  if (result.exitCode !== 0) {
    throw new Error(
      `rabbitmqctl ${args.join(' ')} failed in the container (exit code ${result.exitCode}): ${result.output}`,
    );
  }
}
