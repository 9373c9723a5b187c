import { resolveOptions } from '../messaging.options';
import { brokerPermissions } from './broker-access';
import {
  ConsistentHashUnavailableError,
  PARTITION_HASH_ARGUMENTS,
  partitionQueues,
  Topology,
  unknownExchangeType,
} from './topology';

describe('the topology of an ordered handler', () => {
  it('names the partition exchange and queues after the handler’s queue', () => {
    expect(Topology.partitionExchange('inventory.sequence')).toBe('inventory.sequence.partitions');
    expect(partitionQueues('inventory.sequence', 3)).toEqual([
      'inventory.sequence.p0',
      'inventory.sequence.p1',
      'inventory.sequence.p2',
    ]);
    // one dead-letter queue for all partitions, as for any handler
    expect(Topology.deadLetterQueue('inventory.sequence')).toBe('inventory.sequence.dlq');
  });

  it('hashes on the correlation-id the relay sets to the subject', () => {
    expect(PARTITION_HASH_ARGUMENTS).toEqual({ 'hash-property': 'correlation_id' });
  });

  it('stays within the app’s generated permissions: configure, write and read its own names', () => {
    const { configure, write, read } = brokerPermissions('inventory');
    for (const name of [
      Topology.partitionExchange('inventory.sequence'),
      ...partitionQueues('inventory.sequence', 8),
    ]) {
      expect(name).toMatch(new RegExp(configure));
      expect(name).toMatch(new RegExp(write));
      expect(name).toMatch(new RegExp(read));
    }
    expect(Topology.partitionExchange('inventory.sequence')).not.toMatch(new RegExp(brokerPermissions('orders').write));
  });

  it('tells the broker’s refusal of an unknown exchange type, and names the plugin in one line', () => {
    const refusal = `Connection closed: 503 (COMMAND-INVALID) with message "COMMAND_INVALID - unknown exchange type 'x-consistent-hash'"`;
    expect(unknownExchangeType(refusal)).toBe(true);
    expect(unknownExchangeType('Channel ended, no reply will be forthcoming')).toBe(false);
    expect(unknownExchangeType(undefined)).toBe(false);
    const error = new ConsistentHashUnavailableError('inventory.sequence', refusal);
    expect(error.message).toContain('enable the rabbitmq_consistent_hash_exchange plugin');
    expect(error.message).toMatch(/^inventory\.sequence is ordered/);
    expect(error.message).not.toContain('\n');
  });
});

describe('resolveOptions: ordered handlers', () => {
  const resolve = (ordered?: { partitions?: number; rebalanceIntervalMs?: number }) =>
    resolveOptions({ app: 'orders', url: 'amqp://broker.example', ordered }).ordered;

  it('gives 8 partitions and a rebalance every 10 s unless told otherwise', () => {
    expect(resolve()).toEqual({ partitions: 8, rebalanceIntervalMs: 10_000 });
    expect(resolve({ partitions: 32, rebalanceIntervalMs: 0 })).toEqual({ partitions: 32, rebalanceIntervalMs: 0 });
  });

  it('refuses a partition count that cannot work', () => {
    for (const partitions of [0, -1, 1.5, 257]) {
      expect(() => resolve({ partitions })).toThrow(/ordered.partitions must be an integer from 1 to 256/);
    }
    expect(() => resolve({ rebalanceIntervalMs: -1 })).toThrow(/rebalanceIntervalMs must be an integer >= 0/);
  });
});
