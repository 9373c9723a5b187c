import { ManagementApiBrokerAdmin } from './management-api-broker-admin';
import { RabbitmqctlBrokerAdmin } from './rabbitmqctl-broker-admin';
import { rabbitmqManagementUrl } from './service-urls';

/** The few broker administration steps tests need, whichever way the broker is reached. */
export interface BrokerAdmin {
  /** Creates the vhost and grants `user` configure, write and read on everything in it. */
  createVhost(vhost: string, user: string): Promise<void>;
  /** Deletes the vhost with everything in it; a vhost that is already gone is not an error. */
  deleteVhost(vhost: string): Promise<void>;
  /**
   * Force-closes every client connection open on this vhost now, and no other; resolves once the
   * broker has let all of those go. Clients may reconnect at once: new connections are not waited on.
   */
  closeConnections(vhost: string, reason: string): Promise<void>;
  /** Imports RabbitMQ definitions (users, vhosts, permissions, topic permissions, exchanges, ...). */
  importDefinitions(definitions: object): Promise<void>;
  /** Deletes a user; one that is already gone is not an error. */
  deleteUser(user: string): Promise<void>;
}

/**
 * The management HTTP API when `RABBITMQ_MANAGEMENT_URL` is set (the testcontainers path sets it),
 * otherwise `rabbitmqctl` on this machine (`RABBITMQCTL` names another command, `RABBITMQ_NODENAME`
 * another node).
 */
export function brokerAdminFromEnv(): BrokerAdmin {
  const managementUrl = rabbitmqManagementUrl();
  if (managementUrl) return new ManagementApiBrokerAdmin(managementUrl);
  return new RabbitmqctlBrokerAdmin({
    command: process.env['RABBITMQCTL'] || 'rabbitmqctl',
    node: process.env['RABBITMQ_NODENAME'] || undefined,
  });
}
