import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from './spawn-node-process';

/**
 * The advanced.config every RabbitMQ node of docker-compose.yml loads (docker/rabbitmq/advanced.config:
 * how soon a dead-letter hop that failed while its target queue had no leader is tried again). The
 * tests' private brokers and clusters load it too, so that they behave as the deployed broker: without
 * it a retry dead-lettered during a broker restart or an election waits 180 s in its delay queue.
 */
export const DEPLOYMENT_ADVANCED_CONFIG_FILE = join(workspaceRoot(), 'docker/rabbitmq/advanced.config');

/** Where RabbitMQ's images read advanced.config from (what compose mounts the file over). */
export const CONTAINER_ADVANCED_CONFIG_PATH = '/etc/rabbitmq/advanced.config';

export function deploymentAdvancedConfig(): string {
  return readFileSync(DEPLOYMENT_ADVANCED_CONFIG_FILE, 'utf8');
}
