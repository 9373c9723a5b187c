import { BrokerNodes } from './broker-nodes';

describe('BrokerNodes', () => {
  it('gives amqplib the one URL as text, with the heartbeat when it names none', () => {
    expect(new BrokerNodes(['amqp://u:p@h1:5672/shop'], 'first', 10).connectTarget()).toBe(
      'amqp://u:p@h1:5672/shop?heartbeat=10',
    );
    expect(new BrokerNodes(['amqp://u:p@h1:5672/shop?heartbeat=5'], 'first', 10).connectTarget()).toBe(
      'amqp://u:p@h1:5672/shop?heartbeat=5',
    );
  });

  it('with several nodes, gives an object amqplib reads the current node from at every attempt', () => {
    const nodes = new BrokerNodes(
      ['amqps://sh%40p:p%2Cw@rabbit-1:5671/shop%2Fa?frameMax=8192', 'amqps://sh%40p:p%2Cw@[::1]:5999/shop%2Fa'],
      'first',
      10,
    );
    const target = nodes.connectTarget();
    if (typeof target === 'string') throw new Error('expected the object form');
    const fields = () => ({ ...target });
    expect(fields()).toEqual({
      protocol: 'amqps',
      hostname: 'rabbit-1',
      port: 5671,
      username: 'sh@p',
      password: 'p,w',
      vhost: 'shop%2Fa', // amqplib unescapes it, as it does a URL's
      heartbeat: 10,
      frameMax: 8192,
      channelMax: undefined,
      maxFrameSize: undefined,
      locale: undefined,
    });
    expect(nodes.address).toBe('rabbit-1:5671');
    nodes.advance();
    expect(fields()).toMatchObject({ hostname: '::1', port: 5999, heartbeat: 10, frameMax: undefined });
    expect(nodes.address).toBe('[::1]:5999');
    expect(nodes.shown).toBe('amqps://sh%40p:***@[::1]:5999/shop%2Fa');
    nodes.advance();
    expect(nodes.address).toBe('rabbit-1:5671');
  });

  it('leaves user and password undefined without credentials (amqplib then uses guest)', () => {
    const target = new BrokerNodes(['amqp://h1', 'amqp://h2'], 'first').connectTarget();
    expect(target).toMatchObject({ username: undefined, password: undefined, vhost: undefined, port: undefined });
  });

  it('starts at a random node, or the first', () => {
    const urls = ['amqp://h1', 'amqp://h2', 'amqp://h3'];
    expect(new BrokerNodes(urls, 'random', undefined, () => 0.7).address).toBe('h3:5672');
    expect(new BrokerNodes(urls, 'first', undefined, () => 0.7).address).toBe('h1:5672');
  });
});
