import { brokerAdminFromEnv, type BrokerAdmin } from './broker-admin';
import { rabbitmqUrl } from './service-urls';
import { assertTestVhostName, testVhostName } from './test-names';

export interface TestBroker {
  /** AMQP URL of the broker of `RABBITMQ_URL`, pointing at the new vhost. */
  url: string;
  vhost: string;
  /** Force-closes the client connections open on this vhost (no other), as a network failure would; clients may reconnect. */
  closeAllConnections(): Promise<void>;
  /**
   * Imports definitions that add users (and their permissions) to this vhost: every user must be
   * named `<vhost>-<name>`, so that the users of parallel runs never meet; they are deleted with the vhost.
   */
  addUsers(definitions: { users: ReadonlyArray<{ name: string }> }): Promise<void>;
  /** Users the test created otherwise (named as for `addUsers`), to be deleted with the vhost. */
  adoptUsers(names: readonly string[]): void;
  /** The vhost's URL as `user` with `password`. */
  urlAs(user: string, password: string): string;
  /** Deletes the vhost with its exchanges, queues and messages, and the users added to it. */
  delete(): Promise<void>;
}

export interface CreateTestVhostOptions {
  /** The broker to create the vhost on; `RABBITMQ_URL` by default. */
  brokerUrl?: string;
  /** How to administer it; from the environment by default (see `brokerAdminFromEnv`). */
  admin?: BrokerAdmin;
}

/**
 * A fresh vhost `test-<label>-<random>` on the shared broker, on which the URL's user may do
 * anything: a test file's exchanges, queues and messages cannot meet anyone else's.
 */
export async function createTestVhost(label: string, options: CreateTestVhostOptions = {}): Promise<TestBroker> {
  const brokerUrl = options.brokerUrl ?? rabbitmqUrl();
  const admin = options.admin ?? brokerAdminFromEnv();
  const vhost = testVhostName(label);
  assertTestVhostName(vhost);

  const url = new URL(brokerUrl);
  // amqplib's default user when the URL names none.
  const user = decodeURIComponent(url.username) || 'guest';
  await admin.createVhost(vhost, user);
  url.pathname = `/${encodeURIComponent(vhost)}`;

  const users = new Set<string>();
  const adopt = (names: readonly string[]) => {
    for (const name of names) {
      if (!name.startsWith(`${vhost}-`))
        throw new Error(`test users of vhost ${vhost} are named ${vhost}-<name>, not ${name}`);
      users.add(name);
    }
  };
  return {
    url: url.toString(),
    vhost,
    closeAllConnections: () => admin.closeConnections(vhost, `closed by test (vhost ${vhost})`),
    addUsers: async (definitions) => {
      adopt(definitions.users.map((user) => user.name));
      await admin.importDefinitions(definitions);
    },
    adoptUsers: (names) => adopt(names),
    urlAs: (user, password) => {
      const as = new URL(url);
      as.username = encodeURIComponent(user);
      as.password = encodeURIComponent(password);
      return as.toString();
    },
    delete: async () => {
      assertTestVhostName(vhost);
      await admin.deleteVhost(vhost);
      await Promise.all([...users].map((user) => admin.deleteUser(user)));
    },
  };
}
