import { createTestVhost } from '../src';
import { LocalRabbitmqNode } from '../src/lib/local-rabbitmq-node';
import { ManagementApiBrokerAdmin } from '../src/lib/management-api-broker-admin';
import { describeTestVhostContract } from './support/test-vhost-contract';

/**
 * The testcontainers path administers vhosts over the management HTTP API. No Docker here, so the
 * same contract runs against a private local node with the management plugin, at the default
 * statistics interval (5 s), the worst case for seeing a fresh connection.
 */
describe('createTestVhost administered through the management HTTP API', () => {
  let node: LocalRabbitmqNode | undefined;

  describeTestVhostContract(async () => {
    node = await LocalRabbitmqNode.start({ label: 'management', plugins: ['rabbitmq_management'] });
    const admin = new ManagementApiBrokerAdmin(node.managementUrl as string);
    const brokerUrl = node.url;
    return { brokerUrl, admin, createTestVhost: (label) => createTestVhost(label, { brokerUrl, admin }) };
  });

  afterAll(async () => {
    await node?.stop();
  }, 60_000);
});
