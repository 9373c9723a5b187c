import { createHash } from 'node:crypto';
import {
  ContractError,
  decodeEvent,
  parseEnvelope,
  parseTraceparent,
  type CloudEvent,
  type EventDefinition,
  type EventRegistry,
} from '@shop/contracts';

/** What the caller sent, as CloudEvent attributes, before any check: from the body or the ce-* headers. */
export type ReceivedAttributes = Record<string, unknown>;

/** Why a request holds no CloudEvent the bridge can read (415 or 400), with one message per field. */
export class EventInputError extends Error {
  constructor(
    readonly status: 400 | 415,
    readonly messages: string[],
  ) {
    super(messages.join('; '));
  }
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The CloudEvent of an HTTP request (CloudEvents HTTP protocol binding 1.0): structured mode, the
 * whole event as the JSON body with Content-Type `application/cloudevents+json`; or binary mode,
 * the attributes in `ce-*` headers (values percent-decoded) and the data as the `application/json` body.
 */
export function attributesOf(
  headers: Record<string, string | string[] | undefined>,
  body: unknown,
): ReceivedAttributes {
  const contentType = mediaType(headers['content-type']);
  const binary = headers['ce-specversion'] !== undefined;
  if (contentType === BATCH)
    throw new EventInputError(415, ['batched CloudEvents are not accepted: one event per request']);
  if (contentType === STRUCTURED) {
    if (binary) throw new EventInputError(400, ['ce-* headers and a structured-mode body: choose one mode']);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new EventInputError(400, ['the body must be a CloudEvent, a JSON object']);
    }
    return body as ReceivedAttributes;
  }
  if (!binary) {
    throw new EventInputError(415, [
      `expected Content-Type ${STRUCTURED} (structured mode) or ce-* headers with an application/json body (binary mode)`,
    ]);
  }
  if (contentType !== 'application/json') {
    throw new EventInputError(415, ['binary mode: the data must be application/json']);
  }
  const attributes: ReceivedAttributes = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || value === undefined) continue;
    const attribute = name.slice(3);
    if (Array.isArray(value)) throw new EventInputError(400, [`${name}: given more than once`]);
    try {
      attributes[attribute] = decodeURIComponent(value);
    } catch {
      throw new EventInputError(400, [`${name}: not a percent-encoded string`]);
    }
  }
  if ('data' in attributes) throw new EventInputError(400, ['ce-data: the data is the body in binary mode']);
  attributes['datacontenttype'] = 'application/json';
  attributes['data'] = body;
  return attributes;
}

/** An event the contracts accept, as it will be published, and the digest that tells a retry of it. */
export interface AcceptedEvent {
  definition: EventDefinition;
  event: CloudEvent<unknown>;
  /** SHA-256 of what the caller sent (attributes in key order): the same event sent again has the same. */
  digest: string;
}

/**
 * Checks the attributes against the contract of their type and version, as a consumer would:
 * envelope, data, subject. The event is published as sent (its version, its data); what the
 * bridge adds is a `time` when the caller gave none (a digest of the attributes as sent tells a
 * retry), and the trace context. Each refusal names its field: `id`, `source`, `data.delta`, ...
 */
export function acceptEvent(
  attributes: ReceivedAttributes,
  registry: EventRegistry,
  /** The request's `traceparent` header: when valid, the event continues it rather than its own. */
  requestTraceparent?: string,
): AcceptedEvent {
  const problems: string[] = [];
  const { id, type, source, traceparent, tracestate } = attributes;
  if (traceparent !== undefined && (typeof traceparent !== 'string' || !parseTraceparent(traceparent))) {
    problems.push('traceparent: must be a W3C traceparent, 00-<32 hex>-<16 hex>-<2 hex>');
  }
  if (tracestate !== undefined && (typeof tracestate !== 'string' || tracestate.length > 512)) {
    problems.push('tracestate: must be a W3C tracestate of at most 512 characters');
  }
  if (typeof id === 'string' && !UUID.test(id)) problems.push('id: must be a UUID');
  const definition = typeof type === 'string' ? registry.find(type) : undefined;
  if (typeof type === 'string' && type !== '' && !definition) problems.push(`type: unknown event type "${type}"`);
  if (definition && source !== undefined && source !== `urn:shop:${definition.producer}`) {
    problems.push(`source: must be "urn:shop:${definition.producer}" for ${definition.type}`);
  }
  const candidate = { ...attributes, time: attributes['time'] ?? new Date().toISOString() };
  let event: CloudEvent<unknown> | undefined;
  try {
    event = parseEnvelope(JSON.stringify(candidate));
  } catch (error) {
    problems.push(...fieldMessages(error, ''));
  }
  if (event && definition && problems.length === 0) {
    try {
      decodeEvent(event, registry);
    } catch (error) {
      problems.push(...fieldMessages(error, 'data.'));
    }
  }
  if (problems.length > 0 || !event || !definition) {
    throw new EventInputError(400, problems.length > 0 ? problems : ['not a CloudEvent']);
  }
  // Extensions the contracts do not know are dropped by the envelope's schema. The trace context is
  // stamped by the outbox from the request's span: the request's traceparent when it sent one, the
  // event's own (the CloudEvents distributed-tracing extension) when only that is given.
  if (parseTraceparent(requestTraceparent)) {
    delete event.traceparent;
    delete event.tracestate;
  }
  return { definition, event, digest: digestOf(attributes) };
}

/** One message per offending field, from a ContractError's zod issues (paths under `prefix` for data). */
function fieldMessages(error: unknown, dataPrefix: string): string[] {
  if (!(error instanceof ContractError)) throw error;
  const issues = Array.isArray(error.issues) ? (error.issues as Array<{ path: PropertyKey[]; message: string }>) : [];
  if (issues.length === 0) {
    if (error.reason === 'unknown-version') return [`dataschema: ${error.message}`];
    if (/subject/.test(error.message)) return [`subject: ${error.message}`];
    return [error.message];
  }
  const prefix = error.reason === 'schema-invalid' ? dataPrefix : '';
  return issues.map((issue) => `${prefix}${issue.path.map(String).join('.') || '(event)'}: ${issue.message}`);
}

/** SHA-256 of a JSON value with its object keys in order: the same content gives the same digest. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function mediaType(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(';')[0]?.trim().toLowerCase() || undefined;
}
