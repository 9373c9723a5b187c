import { brokerConnection } from './broker-connection';
import { commonSettings, loadSettings } from './settings';

const shape = commonSettings({ port: 3002, database: 'inventory' });

describe('MESSAGING_ORDERED_PARTITIONS', () => {
  it('gives each ordered handler 8 partitions unless set, and hands the count to the messaging options', () => {
    expect(brokerConnection(loadSettings(shape, {})).ordered).toEqual({ partitions: 8 });
    expect(brokerConnection(loadSettings(shape, { MESSAGING_ORDERED_PARTITIONS: '32' })).ordered).toEqual({
      partitions: 32,
    });
  });

  it.each(['0', '257', '2.5', 'many'])('refuses %s in one line', (value) => {
    expect(() => loadSettings(shape, { MESSAGING_ORDERED_PARTITIONS: value })).toThrow(
      `Invalid setting MESSAGING_ORDERED_PARTITIONS: expected an integer from 1 to 256 (got "${value}")`,
    );
  });
});
