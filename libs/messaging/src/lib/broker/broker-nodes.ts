import type { Options } from 'amqplib';
import { redactUrl } from '@shop/contracts';
import { nodeAddress } from './broker-urls';

/**
 * The nodes of the broker URL and the one the connection is on, or tries next. amqplib's recovery
 * (exponential backoff with jitter) reconnects to the target it was given; with several nodes that
 * target is an object whose fields are read from the current node at every attempt, and the service
 * calls `advance()` on `connect-failed` and `disconnect`, so each retry goes to the next node.
 */
export class BrokerNodes {
  private index: number;

  constructor(
    readonly urls: string[],
    first: 'random' | 'first' = 'random',
    /** Set on each node's URL that names no heartbeat. */
    private readonly heartbeatSeconds?: number,
    random: () => number = Math.random,
  ) {
    if (urls.length === 0) throw new Error('BrokerNodes: no node');
    this.index = first === 'random' ? Math.floor(random() * urls.length) % urls.length : 0;
  }

  get count(): number {
    return this.urls.length;
  }

  /** The URL of the node the connection is on (or the next attempt goes to). */
  get current(): string {
    return this.urls[this.index];
  }

  /** `host:port` of the current node. */
  get address(): string {
    return nodeAddress(this.current);
  }

  /** The current node's URL without its password (and heartbeat) for the logs. */
  get shown(): string {
    return redactUrl(this.withHeartbeat(this.current), { withoutParams: ['heartbeat'] });
  }

  /** The next attempt goes to the next node (round robin). Nothing changes with one node. */
  advance(): void {
    this.index = (this.index + 1) % this.urls.length;
  }

  /**
   * What amqplib's `connect` takes. One node: its URL, with the heartbeat when it names none (as
   * before there were several). Several: amqplib's object form, its fields getters on the current
   * node, which amqplib reads at each attempt (`host`, `port`, and `servername` for TLS, per node).
   */
  connectTarget(): string | Options.Connect {
    if (this.urls.length === 1) return this.withHeartbeat(this.urls[0]);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const nodes = this;
    const url = () => new URL(nodes.withHeartbeat(nodes.current));
    const param = (name: string) => url().searchParams.get(name) ?? undefined;
    const int = (name: string) => (param(name) === undefined ? undefined : parseInt(param(name) as string, 10));
    return {
      get protocol() {
        return url().protocol.replace(/:$/, '');
      },
      get hostname() {
        return url().hostname.replace(/^\[|\]$/g, '');
      },
      get port() {
        return url().port ? Number(url().port) : undefined;
      },
      // amqplib defaults to guest/guest only when both are undefined, as with a URL without user
      get username() {
        const { username, password } = url();
        return username || password ? decodeURIComponent(username) : undefined;
      },
      get password() {
        const { username, password } = url();
        return username || password ? decodeURIComponent(password) : undefined;
      },
      // as amqplib reads a URL's: the path without its "/", unescaped by amqplib; empty: "/"
      get vhost() {
        return url().pathname.slice(1) || undefined;
      },
      get heartbeat() {
        return int('heartbeat');
      },
      get frameMax() {
        return int('frameMax');
      },
      get channelMax() {
        return int('channelMax');
      },
      get maxFrameSize() {
        return int('maxFrameSize');
      },
      get locale() {
        return param('locale');
      },
    };
  }

  private withHeartbeat(text: string): string {
    const url = new URL(text);
    if (this.heartbeatSeconds !== undefined && !url.searchParams.has('heartbeat')) {
      url.searchParams.set('heartbeat', String(this.heartbeatSeconds));
    }
    return url.toString();
  }
}
