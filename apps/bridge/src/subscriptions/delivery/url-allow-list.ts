import { BlockList, isIP } from 'node:net';

/** The setting the allow-list comes from, named in every refusal so that an operator knows what to change. */
export const ALLOW_LIST_SETTING = 'BRIDGE_SUBSCRIBER_ALLOWLIST';

/** One origin pattern of the allow-list. */
export interface AllowListEntry {
  /** As written in the setting, for messages. */
  readonly text: string;
  readonly protocol: 'http:' | 'https:';
  /**
   * The host as the URL parser spells it (lower case, punycode, IPv6 in brackets, IPv4 normalised);
   * for a wildcard entry, what follows `*.`.
   */
  readonly host: string;
  /** `*.example.com`: one or more labels in front of `host`. */
  readonly wildcard: boolean;
  /** `*`: any port; else the port, the scheme's default when the entry names none. */
  readonly port: number | '*';
}

export type AllowListCheck = { ok: true; url: URL; entry: AllowListEntry } | { ok: false; reason: string };

/** A bad entry of the setting: the app reports it as one settings line. */
export class AllowListEntryError extends Error {
  constructor(
    readonly entry: string,
    problem: string,
  ) {
    super(`entry "${entry}": ${problem}`);
    this.name = 'AllowListEntryError';
  }
}

const DEFAULT_PORTS: Record<AllowListEntry['protocol'], number> = { 'http:': 80, 'https:': 443 };

/**
 * Where push subscriptions may deliver (BRIDGE_SUBSCRIBER_ALLOWLIST): comma-separated origins,
 * `https://hooks.example.com`, `https://*.example.com`, `http://localhost:4000`, `http://127.0.0.1:*`.
 * The scheme and the port must match exactly (a missing port is the scheme's default); a wildcard
 * stands for one or more labels and only at the left. Empty: nowhere.
 *
 * This is the check at creation (and again before each delivery, the setting may have changed since);
 * what a name resolves to is checked when connecting, see `connectAllowed`.
 */
export class UrlAllowList {
  private constructor(readonly entries: readonly AllowListEntry[]) {}

  /** Throws an AllowListEntryError naming the first bad entry. Empty entries (a trailing comma) are skipped. */
  static parse(text: string): UrlAllowList {
    const entries = text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0)
      .map(parseEntry);
    return new UrlAllowList(entries);
  }

  check(text: string): AllowListCheck {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, reason: 'not a URL' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return { ok: false, reason: `${url.protocol} is not http or https` };
    }
    // Credentials in a URL end up in logs and dashboards; the signature is what authenticates the bridge.
    if (url.username || url.password) return { ok: false, reason: 'a URL with credentials (user:pass@) is refused' };
    // A fragment is never sent anyway: drop it rather than refuse the URL.
    url.hash = '';
    const entry = this.match(url);
    if (!entry) {
      if (!this.entries.length) return { ok: false, reason: `the allow-list (${ALLOW_LIST_SETTING}) is empty` };
      return { ok: false, reason: `${url.origin} is not in the allow-list (${ALLOW_LIST_SETTING})` };
    }
    return { ok: true, url, entry };
  }

  /**
   * The entry that allows this URL's origin, if any; an entry naming the host literally before a
   * wildcard, since only a literal entry lets the host be an internal address.
   */
  match(url: URL): AllowListEntry | undefined {
    const matching = this.entries.filter((entry) => matches(entry, url));
    return matching.find((entry) => !entry.wildcard) ?? matching[0];
  }

  toString(): string {
    return this.entries.map((entry) => entry.text).join(',');
  }
}

function parseEntry(text: string): AllowListEntry {
  const fail = (problem: string) => new AllowListEntryError(text, problem);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
  if (!scheme) throw fail('expected an origin such as https://hooks.example.com');
  const protocol = `${scheme[1].toLowerCase()}:`;
  if (protocol !== 'http:' && protocol !== 'https:') throw fail('only http and https origins are allowed');
  let rest = scheme[2].replace(/\/$/, '');
  if (/[/?#@\\]/.test(rest)) throw fail('an origin only: no path, query, fragment or credentials');
  const wildcard = rest.startsWith('*.');
  if (wildcard) rest = rest.slice(2);
  const anyPort = rest.endsWith(':*');
  if (anyPort) rest = rest.slice(0, -2);
  if (rest.includes('*')) throw fail('a wildcard is allowed only as the leftmost label (*.example.com) or port (:*)');

  // The URL parser normalises the host as it will normalise the URLs checked against it
  // (case, punycode, IPv4 spellings such as 0x7f.1); a stand-in label takes the wildcard's place.
  let url: URL;
  try {
    url = new URL(`${protocol}//${wildcard ? 'wildcard.' : ''}${rest}`);
  } catch {
    throw fail('not a valid origin');
  }
  const host = wildcard ? url.hostname.slice('wildcard.'.length) : url.hostname;
  if (!host) throw fail('no host');
  // `*.com` would allow half the Internet: a wildcard needs at least two labels after it.
  if (wildcard && !host.includes('.')) throw fail('a wildcard needs at least two labels after it (*.example.com)');
  const port = anyPort ? '*' : url.port ? Number(url.port) : DEFAULT_PORTS[protocol];
  return { text, protocol, host, wildcard, port };
}

function matches(entry: AllowListEntry, url: URL): boolean {
  if (entry.protocol !== url.protocol) return false;
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[entry.protocol];
  if (entry.port !== '*' && entry.port !== port) return false;
  if (!entry.wildcard) return url.hostname === entry.host;
  const suffix = `.${entry.host}`;
  if (!url.hostname.endsWith(suffix)) return false;
  const labels = url.hostname.slice(0, -suffix.length).split('.');
  return labels.every((label) => label.length > 0);
}

/** Why an address is internal; the first matching range. */
export type InternalAddressKind =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'multicast'
  | 'reserved';

/**
 * Address ranges a subscriber URL must not reach through a wildcard or a DNS answer. BlockList also
 * matches the IPv4-mapped IPv6 form of an IPv4 range (::ffff:127.0.0.1).
 */
const INTERNAL_RANGES: ReadonlyArray<[InternalAddressKind, ReadonlyArray<[string, number, 'ipv4' | 'ipv6']>]> = [
  [
    'unspecified',
    [
      // "This network": Linux connects 0.0.0.0 (and 0.x) to the local host.
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  ],
  [
    'loopback',
    [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  ],
  [
    'private',
    [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
      // Deprecated site-local, still routed inside some networks.
      ['fec0::', 10, 'ipv6'],
    ],
  ],
  [
    'link-local',
    [
      // Includes 169.254.169.254, the cloud metadata service.
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  ],
  // Carrier-grade NAT; also where some clouds put their metadata service (100.100.100.200).
  ['shared (CGNAT)', [['100.64.0.0', 10, 'ipv4']]],
  [
    'multicast',
    [
      ['224.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ],
  ],
  [
    'reserved',
    [
      // IETF protocol assignments (192.0.0.192 is a metadata address on some clouds), future use, broadcast.
      ['192.0.0.0', 24, 'ipv4'],
      ['240.0.0.0', 4, 'ipv4'],
    ],
  ],
];

const INTERNAL: ReadonlyArray<[InternalAddressKind, BlockList]> = INTERNAL_RANGES.map(([kind, subnets]) => {
  const list = new BlockList();
  for (const [network, prefix, family] of subnets) list.addSubnet(network, prefix, family);
  return [kind, list];
});

/** The kind of internal address this is, or undefined for a public one (or something that is no IP address). */
export function internalAddressKind(address: string): InternalAddressKind | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return INTERNAL.find(([, list]) => list.check(address, type))?.[0];
}

/**
 * Whether the bridge may connect to `address`, an address the subscriber's host resolved to (or the
 * host itself, when an IP literal). Internal addresses are refused unless the allow-list entry that
 * let the URL through names the host literally: `http://localhost:4000` or `http://10.0.0.7:*` is
 * the operator reaching an internal host on purpose, while `https://*.example.com` resolving to
 * 10.0.0.5 is DNS rebinding (or a subscriber pointing the bridge at the inside).
 * Something that is not an IP address is refused.
 */
export function connectAllowed(address: string, hostNamedLiterally: boolean): boolean {
  if (isIP(address) === 0) return false;
  return hostNamedLiterally || internalAddressKind(address) === undefined;
}
