import { redactUrl } from '@shop/contracts';

/** A RABBITMQ_URL that names no usable node, or nodes that are not of one cluster: its message is one line. */
export class BrokerUrlError extends Error {
  override readonly name = 'BrokerUrlError';
}

const PROTOCOLS = ['amqp:', 'amqps:'];
/** Where a full URL starts after a comma: `...,amqp://` or `..., amqps://`. */
const NEXT_FULL_URL = /,\s*(?=[a-z][a-z0-9+.-]*:\/\/)/i;

/**
 * The nodes a broker URL names, one amqp(s):// URL each, in the order given. The text is
 *
 * - one URL: `amqp://u:p@rabbit-1:5672/shop` (returned as it is);
 * - one URL naming several hosts: `amqp://u:p@rabbit-1,rabbit-2,rabbit-3:5672/shop?heartbeat=5`. The
 *   hosts share the credentials, the vhost and the query. Each may carry its own port (`h1:5673,h2:5674`);
 *   a host without one takes the port of the last host (so the SPEC.md form `h1,h2,h3:5672` means port
 *   5672 for all three), else the protocol's (5672, or 5671 for amqps);
 * - comma-separated full URLs: `amqp://u:p@h1:5672/shop,amqp://u:p@h2:5672/shop`. They must share the
 *   protocol, the user (and password) and the vhost, being nodes of one cluster; the query may differ.
 *
 * Throws a BrokerUrlError (one line, passwords hidden) for anything else: an empty host, a bad port, a
 * node named twice, nodes that differ in what they must share.
 */
export function brokerNodeUrls(text: string): string[] {
  const trimmed = text.trim();
  if (!trimmed.includes(',')) return [singleUrl(trimmed)];
  const parts = trimmed.split(NEXT_FULL_URL);
  const nodes = parts.length > 1 ? fullUrls(parts) : hostList(trimmed);
  const seen = new Set<string>();
  for (const node of nodes) {
    const key = nodeAddress(node);
    if (seen.has(key)) throw new BrokerUrlError(`names the node ${key} twice`);
    seen.add(key);
  }
  return nodes;
}

/** `host:port` of a node URL (the port the protocol's default when not given): what the logs and readiness show. */
export function nodeAddress(url: string | URL): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === 'amqps:' ? '5671' : '5672');
  return `${parsed.hostname}:${port}`;
}

/**
 * The broker URL text without its passwords, for logs and errors: each node's URL redacted and joined
 * with commas; text that is no broker URL at all with anything between `//user:` and `@` hidden.
 */
export function redactBrokerUrl(text: string, options: { withoutParams?: string[] } = {}): string {
  try {
    return brokerNodeUrls(text)
      .map((node) => redactUrl(node, options))
      .join(',');
  } catch {
    return text.replace(/(\/\/[^:/?#@,\s]*:)[^/?#\s]*@/g, '$1***@');
  }
}

function singleUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BrokerUrlError('expected a URL starting with amqp:// or amqps://');
  }
  if (!PROTOCOLS.includes(url.protocol)) throw new BrokerUrlError('expected a URL starting with amqp:// or amqps://');
  if (!url.hostname) throw new BrokerUrlError('expected a host after amqp://');
  return text;
}

function fullUrls(parts: string[]): string[] {
  const urls = parts.map((part) => singleUrl(part.trim()));
  const [first, ...others] = urls.map((url) => new URL(url));
  for (const other of others) {
    const differs =
      other.protocol !== first.protocol
        ? `protocol (${first.protocol}// and ${other.protocol}//)`
        : other.username !== first.username
          ? `user ("${decodeURIComponent(first.username)}" and "${decodeURIComponent(other.username)}")`
          : other.password !== first.password
            ? 'password'
            : vhostOf(other) !== vhostOf(first)
              ? `vhost ("${vhostOf(first)}" and "${vhostOf(other)}")`
              : undefined;
    if (differs) {
      throw new BrokerUrlError(
        `expected the nodes of one cluster, with the same protocol, user and vhost; ${nodeAddress(first)} and ${nodeAddress(other)} differ in ${differs}`,
      );
    }
  }
  return urls;
}

/** `amqp://u:p@h1,h2:5673,[::1]:5674/vhost?query` */
function hostList(text: string): string[] {
  const match = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/i.exec(text);
  if (!match || !PROTOCOLS.includes(match[1].toLowerCase())) {
    throw new BrokerUrlError('expected a URL starting with amqp:// or amqps://');
  }
  const [, protocol, authority, rest] = match;
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hosts = authority
    .slice(at + 1)
    .split(',')
    .map((host) => host.trim());
  if (hosts.some((host) => host === '')) throw new BrokerUrlError('expected a host between every two commas');
  const split = hosts.map(splitHostPort);
  const sharedPort = split[split.length - 1].port;
  return split.map(({ host, port }) => {
    const nodePort = port ?? sharedPort;
    const url = `${protocol}//${userinfo}${host}${nodePort ? `:${nodePort}` : ''}${rest}`;
    try {
      new URL(url);
    } catch {
      throw new BrokerUrlError(`expected a host name or address, not "${host}"`);
    }
    return url;
  });
}

function splitHostPort(text: string): { host: string; port?: string } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(text);
  const host = match?.[1] ?? '';
  const port = match?.[2];
  if (!host) throw new BrokerUrlError(`expected a host name before ":" in "${text}"`);
  if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) {
    throw new BrokerUrlError(`expected a TCP port after "${host}:", not "${port}"`);
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new BrokerUrlError(`expected a TCP port from 1 to 65535 after "${host}:", not ${port}`);
  }
  return { host, port };
}

function vhostOf(url: URL): string {
  return decodeURIComponent(url.pathname.slice(1)) || '/';
}
