import { ManagementApiBrokerAdmin } from './management-api-broker-admin';
import { RabbitmqctlBrokerAdmin } from './rabbitmqctl-broker-admin';
import { rabbitmqManagementUrl } from './service-urls';

/** A queue of a vhost and its messages, as the broker counts them. */
export interface BrokerQueue {
  name: string;
  /** Ready and unacknowledged together. */
  messages: number;
  ready: number;
  unacked: number;
}

/** A binding of a vhost, as the broker lists it (the default exchange's, source `''`, included). */
export interface BrokerBinding {
  /** The exchange. */
  source: string;
  /** The queue or exchange bound to it. */
  destination: string;
  /** `queue` or `exchange`. */
  destinationKind: string;
  routingKey: string;
}

/** A client connection open on the broker. */
export interface BrokerClientConnection {
  name: string;
  /** The user it authenticated as. */
  user: string;
  vhost: string;
}

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
  /** Every queue of the vhost with its message counts. */
  listQueues(vhost: string): Promise<BrokerQueue[]>;
  /** Every binding of the vhost. */
  listBindings(vhost: string): Promise<BrokerBinding[]>;
  /** The client connections open on the vhost now. */
  listConnections(vhost: string): Promise<BrokerClientConnection[]>;
}

export interface BrokerAdminFromEnvOptions {
  /** The node `rabbitmqctl` administers (`-n`), instead of `RABBITMQ_NODENAME`'s; unused over the management API. */
  node?: string;
}

/**
 * The management HTTP API when `RABBITMQ_MANAGEMENT_URL` is set (the testcontainers path sets it),
 * otherwise `rabbitmqctl` on this machine (`RABBITMQCTL` names another command, `RABBITMQ_NODENAME`
 * or `options.node` another node).
 */
export function brokerAdminFromEnv(options: BrokerAdminFromEnvOptions = {}): BrokerAdmin {
  const managementUrl = rabbitmqManagementUrl();
  if (managementUrl) return new ManagementApiBrokerAdmin(managementUrl);
  return new RabbitmqctlBrokerAdmin({
    command: process.env['RABBITMQCTL'] || 'rabbitmqctl',
    node: options.node || process.env['RABBITMQ_NODENAME'] || undefined,
  });
}
