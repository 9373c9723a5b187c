import { z } from 'zod';
import { ContractError } from './contract-error';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

/** A CloudEvents 1.0 event in structured mode, as it travels in a message body. */
export interface CloudEvent<TData = unknown> {
  specversion: '1.0';
  /** A UUID; also the AMQP `messageId` and the key of the consumer's inbox. */
  id: string;
  /** `urn:shop:<producer>` */
  source: string;
  type: string;
  /** RFC 3339 */
  time: string;
  /** The order id (correlation); always equal to `data.orderId`. */
  subject: string;
  datacontenttype: 'application/json';
  /** `urn:shop:events:<type>:v<version>`; absent on the wire means version 1. */
  dataschema: string;
  data: TData;
  /** Extension: the id of the event that caused this one. */
  causationid?: string;
  /** Extension (CloudEvents distributed tracing): W3C trace context. */
  traceparent?: string;
  tracestate?: string;
}

export function dataSchemaUri(type: string, version: number): string {
  return `urn:shop:events:${type}:v${version}`;
}

const DATA_SCHEMA_URI = /^urn:shop:events:(.+):v([1-9]\d{0,8})$/;

/** The schema version an envelope declares: from `dataschema`, 1 when it is absent. */
export function versionOf(envelope: CloudEvent<unknown>): number {
  const uri: string | undefined = envelope.dataschema;
  if (uri === undefined) return 1;
  const match = DATA_SCHEMA_URI.exec(uri);
  if (!match || match[1] !== envelope.type) {
    throw new ContractError(
      'invalid-envelope',
      `dataschema "${uri}" is not urn:shop:events:${envelope.type}:v<version>`,
    );
  }
  return Number(match[2]);
}

/** What every envelope must carry, whatever its type; the data is checked later, by its definition. */
const Envelope = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  subject: z.string().min(1),
  datacontenttype: z.literal('application/json').default('application/json'),
  dataschema: z.string().min(1).optional(),
  data: z.unknown().refine((data) => data !== undefined, 'data is required'),
  causationid: z.string().min(1).optional(),
  traceparent: z.string().optional(),
  tracestate: z.string().optional(),
});

export function serializeEvent(event: CloudEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/**
 * JSON-parses a message body and checks the CloudEvents envelope (not the data).
 * An absent `dataschema` is filled in as version 1 of the event's type.
 */
export function parseEnvelope(body: Buffer | string): CloudEvent<unknown> {
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (error) {
    throw new ContractError('unparseable', `body is not JSON: ${(error as Error).message}`);
  }
  const result = Envelope.safeParse(json);
  if (!result.success) {
    throw new ContractError(
      'invalid-envelope',
      `not a CloudEvents 1.0 envelope: ${z.prettifyError(result.error)}`,
      result.error.issues,
    );
  }
  const { dataschema, ...envelope } = result.data;
  return {
    ...envelope,
    dataschema: dataschema ?? dataSchemaUri(envelope.type, 1),
  };
}
