import type { ConnectionOptions } from 'node:tls';
import { acceptsAmqp } from './amqp-ready';

/** A TLS listener for a private broker (local node or container). */
export interface BrokerTlsOptions {
  /** PEM: the CA the broker trusts for client certificates; it should have signed `cert` too. */
  ca: string;
  /** PEM: the broker's certificate and its key. The certificate must be valid for `localhost` (see `tlsProbeOptions`). */
  cert: string;
  key: string;
  /**
   * A client certificate and key signed by `ca`. When given, the broker requires a certificate from
   * every client (`verify_peer`, `fail_if_no_peer_cert`) and its readiness probe presents this one;
   * without it, the broker asks for none.
   */
  client?: { cert: string; key: string };
  /** Keep the plain AMQP listener too; by default the broker accepts TLS only (`listeners.tcp = none`). */
  plain?: boolean;
}

/** The names the PEM files get in the broker's TLS directory. */
export const BROKER_TLS_FILES = { ca: 'ca.pem', cert: 'server.pem', key: 'server.key' } as const;

/** `rabbitmq.conf` lines for a TLS listener on `listener` (`port` or `ip:port`), its files in `dir`. */
export function brokerTlsConfig(tls: BrokerTlsOptions, listener: string, dir: string): string[] {
  return [
    `listeners.ssl.default = ${listener}`,
    ...(tls.plain ? [] : ['listeners.tcp = none']),
    `ssl_options.cacertfile = ${dir}/${BROKER_TLS_FILES.ca}`,
    `ssl_options.certfile = ${dir}/${BROKER_TLS_FILES.cert}`,
    `ssl_options.keyfile = ${dir}/${BROKER_TLS_FILES.key}`,
    `ssl_options.verify = ${tls.client ? 'verify_peer' : 'verify_none'}`,
    `ssl_options.fail_if_no_peer_cert = ${tls.client ? 'true' : 'false'}`,
  ];
}

/**
 * amqplib socket options of the readiness probe: it trusts `ca` only and checks the broker's
 * certificate in full, under the name `localhost` whatever address it dials (tests may give the
 * certificate no IP address on purpose).
 */
export function tlsProbeOptions(tls: BrokerTlsOptions): ConnectionOptions {
  return { ca: tls.ca, ...tls.client, servername: 'localhost' };
}

/** True when every listener of a broker completes an AMQP handshake: the plain one unless it takes TLS only, the TLS one. */
export async function listenersAcceptAmqp(url: string, tlsUrl?: string, tls?: BrokerTlsOptions): Promise<boolean> {
  if ((!tls || tls.plain) && !(await acceptsAmqp(url))) return false;
  return !tls || !tlsUrl || acceptsAmqp(tlsUrl, 2_000, tlsProbeOptions(tls));
}
