import { AllowListEntryError, UrlAllowList, connectAllowed, internalAddressKind } from './url-allow-list';

const allowed = (list: UrlAllowList, url: string) => list.check(url).ok;

describe('UrlAllowList.parse', () => {
  it('reads comma-separated origins, normalised as URLs are, skipping empty entries', () => {
    const list = UrlAllowList.parse(
      ' https://Hooks.Example.com , https://*.example.org,http://localhost:4000/,http://127.0.0.1:*, ',
    );
    expect(list.entries).toEqual([
      { text: 'https://Hooks.Example.com', protocol: 'https:', host: 'hooks.example.com', wildcard: false, port: 443 },
      { text: 'https://*.example.org', protocol: 'https:', host: 'example.org', wildcard: true, port: 443 },
      { text: 'http://localhost:4000/', protocol: 'http:', host: 'localhost', wildcard: false, port: 4000 },
      { text: 'http://127.0.0.1:*', protocol: 'http:', host: '127.0.0.1', wildcard: false, port: '*' },
    ]);
    expect(UrlAllowList.parse('').entries).toEqual([]);
  });

  it('normalises hosts the way the URL parser does: IPv4 spellings, IPv6, punycode', () => {
    const list = UrlAllowList.parse('http://0x7f.1:8080,http://[0:0::1]:*,https://*.bücher.example');
    expect(list.entries.map((entry) => entry.host)).toEqual(['127.0.0.1', '[::1]', 'xn--bcher-kva.example']);
  });

  it.each([
    ['hooks.example.com', /expected an origin/],
    ['ftp://files.example.com', /only http and https/],
    ['https://hooks.example.com/path', /an origin only/],
    ['https://hooks.example.com?x=1', /an origin only/],
    ['https://user:pass@hooks.example.com', /an origin only/],
    ['https://hooks.*.example.com', /leftmost label/],
    ['https://*hooks.example.com', /leftmost label/],
    ['https://**.example.com', /leftmost label/],
    ['https://*.com', /at least two labels/],
    ['https://*.10.0.0.1', /not a valid origin/],
    ['https://exa mple.com', /not a valid origin/],
    ['https://hooks.example.com:99999', /not a valid origin/],
    ['https://', /not a valid origin/],
  ])('refuses %s, naming it', (entry, problem) => {
    const parse = () => UrlAllowList.parse(`https://ok.example.com,${entry}`);
    expect(parse).toThrow(AllowListEntryError);
    expect(parse).toThrow(`entry "${entry}"`);
    expect(parse).toThrow(problem);
  });
});

describe('UrlAllowList.check', () => {
  const list = UrlAllowList.parse(
    'https://hooks.example.com,https://*.example.org,http://localhost:4000,http://127.0.0.1:*,https://[::1]:8443',
  );

  it('allows a URL whose scheme, host and port match an entry, default ports implied', () => {
    expect(allowed(list, 'https://hooks.example.com/webhooks/shop?token=1')).toBe(true);
    expect(allowed(list, 'https://hooks.example.com:443/x')).toBe(true);
    expect(allowed(list, 'https://HOOKS.example.com/x')).toBe(true);
    expect(allowed(list, 'http://localhost:4000/')).toBe(true);
    expect(allowed(list, 'https://[::1]:8443/')).toBe(true);
  });

  it('requires the same scheme and port', () => {
    expect(allowed(list, 'http://hooks.example.com/')).toBe(false);
    expect(allowed(list, 'https://hooks.example.com:8443/')).toBe(false);
    expect(allowed(list, 'http://localhost/')).toBe(false);
    expect(allowed(list, 'http://localhost:4001/')).toBe(false);
    expect(allowed(list, 'https://localhost:4000/')).toBe(false);
  });

  it('matches any port for :*', () => {
    expect(allowed(list, 'http://127.0.0.1:1/')).toBe(true);
    expect(allowed(list, 'http://127.0.0.1/')).toBe(true);
    expect(allowed(list, 'http://0x7f.0.0.1:5000/')).toBe(true);
    expect(allowed(list, 'http://127.0.0.2:5000/')).toBe(false);
  });

  it('matches one or more labels for a wildcard, never the bare domain or a look-alike', () => {
    expect(allowed(list, 'https://a.example.org/')).toBe(true);
    expect(allowed(list, 'https://a.b.example.org/')).toBe(true);
    expect(allowed(list, 'https://example.org/')).toBe(false);
    expect(allowed(list, 'https://evilexample.org/')).toBe(false);
    expect(allowed(list, 'https://a.example.org.evil.com/')).toBe(false);
    expect(allowed(list, 'https://hooks.example.com.evil.com/')).toBe(false);
  });

  it('says why a URL is refused, naming the setting', () => {
    expect(list.check('not a url')).toEqual({ ok: false, reason: 'not a URL' });
    expect(list.check('ftp://hooks.example.com/')).toEqual({ ok: false, reason: 'ftp: is not http or https' });
    expect(list.check('https://user:pass@hooks.example.com/')).toEqual({
      ok: false,
      reason: 'a URL with credentials (user:pass@) is refused',
    });
    expect(list.check('https://elsewhere.example.net/x')).toEqual({
      ok: false,
      reason: 'https://elsewhere.example.net is not in the allow-list (BRIDGE_SUBSCRIBER_ALLOWLIST)',
    });
    expect(UrlAllowList.parse('').check('https://hooks.example.com/')).toEqual({
      ok: false,
      reason: 'the allow-list (BRIDGE_SUBSCRIBER_ALLOWLIST) is empty',
    });
  });

  it('strips a fragment and returns the parsed URL with its entry', () => {
    const result = list.check('https://a.example.org/hook?x=1#frag');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.url.href).toBe('https://a.example.org/hook?x=1');
    expect(result.entry.text).toBe('https://*.example.org');
  });

  it('prefers an entry naming the host literally over a wildcard that also matches', () => {
    const both = UrlAllowList.parse('https://*.example.com,https://hooks.example.com');
    expect(both.match(new URL('https://hooks.example.com/'))?.wildcard).toBe(false);
    expect(both.match(new URL('https://other.example.com/'))?.wildcard).toBe(true);
  });
});

describe('connectAllowed', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['fc00::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.100.100.200', 'shared (CGNAT)'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['192.0.0.192', 'reserved'],
    ['255.255.255.255', 'reserved'],
  ])('refuses %s (%s) unless the host was named literally', (address, kind) => {
    expect(internalAddressKind(address)).toBe(kind);
    expect(connectAllowed(address, false)).toBe(false);
    expect(connectAllowed(address, true)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(internalAddressKind(address)).toBeUndefined();
      expect(connectAllowed(address, false)).toBe(true);
    },
  );

  it('refuses what is not an IP address', () => {
    expect(connectAllowed('localhost', true)).toBe(false);
    expect(connectAllowed('', false)).toBe(false);
  });
});
