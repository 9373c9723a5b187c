import { brokerNodeUrls, nodeAddress, redactBrokerUrl } from './broker-urls';

describe('brokerNodeUrls', () => {
  it('returns one URL as it is', () => {
    expect(brokerNodeUrls('amqp://guest:guest@localhost:5672')).toEqual(['amqp://guest:guest@localhost:5672']);
    expect(brokerNodeUrls(' amqps://u:p@broker.example/shop?heartbeat=5 ')).toEqual([
      'amqps://u:p@broker.example/shop?heartbeat=5',
    ]);
  });

  it('splits hosts sharing credentials, vhost and query; the last host`s port is shared', () => {
    expect(brokerNodeUrls('amqp://u:p@rabbit-1,rabbit-2,rabbit-3:5672/shop?heartbeat=5')).toEqual([
      'amqp://u:p@rabbit-1:5672/shop?heartbeat=5',
      'amqp://u:p@rabbit-2:5672/shop?heartbeat=5',
      'amqp://u:p@rabbit-3:5672/shop?heartbeat=5',
    ]);
    expect(brokerNodeUrls('amqp://u:p@h1:5673,h2:5674,h3:5675/shop')).toEqual([
      'amqp://u:p@h1:5673/shop',
      'amqp://u:p@h2:5674/shop',
      'amqp://u:p@h3:5675/shop',
    ]);
    // the last host has no port: the others keep theirs, it takes the protocol's
    expect(brokerNodeUrls('amqp://u:p@h1:5673,h2')).toEqual(['amqp://u:p@h1:5673', 'amqp://u:p@h2']);
    expect(brokerNodeUrls('amqps://h1,[::1]:5671')).toEqual(['amqps://h1:5671', 'amqps://[::1]:5671']);
  });

  it('keeps a password with a comma or an at sign in it', () => {
    expect(brokerNodeUrls('amqp://u:a,b%40c@h1,h2/shop')).toEqual([
      'amqp://u:a,b%40c@h1/shop',
      'amqp://u:a,b%40c@h2/shop',
    ]);
  });

  it('takes comma-separated full URLs of one cluster', () => {
    expect(brokerNodeUrls('amqp://u:p@h1:5672/shop, amqp://u:p@h2:5673/shop?heartbeat=5')).toEqual([
      'amqp://u:p@h1:5672/shop',
      'amqp://u:p@h2:5673/shop?heartbeat=5',
    ]);
  });

  it('refuses full URLs that differ in protocol, user or vhost, saying which', () => {
    expect(() => brokerNodeUrls('amqp://u:p@h1/shop,amqps://u:p@h2/shop')).toThrow(
      'expected the nodes of one cluster, with the same protocol, user and vhost; h1:5672 and h2:5671 differ in protocol (amqp:// and amqps://)',
    );
    expect(() => brokerNodeUrls('amqp://u:p@h1/shop,amqp://v:p@h2/shop')).toThrow('differ in user ("u" and "v")');
    expect(() => brokerNodeUrls('amqp://u:p@h1/shop,amqp://u:p@h2/other')).toThrow(
      'differ in vhost ("shop" and "other")',
    );
    expect(() => brokerNodeUrls('amqp://u:p@h1/shop,amqp://u:q@h2/shop')).toThrow('differ in password');
  });

  it('refuses empty hosts, bad ports, other protocols and a node named twice', () => {
    expect(() => brokerNodeUrls('amqp://u:p@h1,,h2/shop')).toThrow('expected a host between every two commas');
    expect(() => brokerNodeUrls('amqp://u:p@h1:x,h2/shop')).toThrow('expected a TCP port after "h1:", not "x"');
    expect(() => brokerNodeUrls('amqp://u:p@h1:70000,h2/shop')).toThrow('expected a TCP port from 1 to 65535');
    expect(() => brokerNodeUrls('http://h1,h2')).toThrow('expected a URL starting with amqp:// or amqps://');
    expect(() => brokerNodeUrls('not a url')).toThrow('expected a URL starting with amqp:// or amqps://');
    expect(() => brokerNodeUrls('amqp://h1,h1:5672')).toThrow('names the node h1:5672 twice');
    expect(() => brokerNodeUrls('amqp://h1/a,amqp://h2/a,http://h3')).toThrow('expected a URL starting with amqp://');
  });
});

describe('nodeAddress and redactBrokerUrl', () => {
  it('shows host:port with the default port', () => {
    expect(nodeAddress('amqp://u:p@h1/shop')).toBe('h1:5672');
    expect(nodeAddress('amqps://h2:5999')).toBe('h2:5999');
  });

  it('hides every node`s password, also in text that does not parse', () => {
    expect(redactBrokerUrl('amqp://u:secret@h1,h2:5673/shop')).toBe(
      'amqp://u:***@h1:5673/shop,amqp://u:***@h2:5673/shop',
    );
    expect(redactBrokerUrl('amqp://u:secret@h1:x,h2/shop')).toBe('amqp://u:***@h1:x,h2/shop');
    expect(redactBrokerUrl('amqp://u:s1@h1/a,amqp://v:s2@h2/b')).toBe('amqp://u:***@h1/a,amqp://v:***@h2/b');
  });
});
