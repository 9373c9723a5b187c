import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  APP_NAMES,
  ContractError,
  EVENTS,
  dataSchemaUri,
  decodeEvent,
  parseEnvelope,
  type AppName,
  type EventDefinition,
  topicMatches,
} from '@shop/contracts';
import type { Options } from 'amqplib';
import * as fc from 'fast-check';

/**
 * Property-based fuzzing of the event consumers (test/event-fuzz.e2e-spec.ts): fast-check
 * arbitraries of AMQP messages for every event type, what the consumer pipeline must do with each
 * (parse -> validate -> authenticate the producer -> type check -> handle), and read-only views of
 * the broker (bindings, queue depths, connections) through `rabbitmqctl`, or the management API when
 * `RABBITMQ_MANAGEMENT_URL` is set.
 */

/** The headers @shop/messaging sets on dead-lettered copies (`MessagingHeaders`; e2e may not import the lib). */
export const DeadLetterHeaders = {
  reason: 'x-dead-letter-reason',
  queue: 'x-consumer-queue',
  originalExchange: 'x-original-exchange',
  originalRoutingKey: 'x-original-routing-key',
  originalUserId: 'x-original-user-id',
  attempt: 'x-attempt',
} as const;

/** The header each fuzzed message carries to be found again (kept on the dead-letter copies). */
export const FUZZ_SEQ_HEADER = 'fuzz-seq';

/** Reasons a message may be dead-lettered with before its handler ran: the contract's and the consumer's checks. */
export const CONTRACT_REASONS = [
  'unparseable',
  'invalid-envelope',
  'unknown-type',
  'unknown-version',
  'schema-invalid',
  'unexpected-type',
  'unauthenticated-producer',
] as const;

// ---------------------------------------------------------------------------------------------------
// The broker, read-only

const run = promisify(execFile);

function managementUrl(): URL | undefined {
  const url = process.env['RABBITMQ_MANAGEMENT_URL'];
  return url ? new URL(url) : undefined;
}

async function managementGet<T>(url: URL, path: string): Promise<T> {
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  const response = await fetch(`${url.origin}${path}`, { headers: { authorization } });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
  return (await response.json()) as T;
}

async function rabbitmqctl<T>(args: string[]): Promise<T[]> {
  const node = process.env['RABBITMQ_NODENAME'];
  const { stdout } = await run(
    process.env['RABBITMQCTL'] || 'rabbitmqctl',
    [...(node ? ['-n', node] : []), '-q', ...args, '--formatter', 'json'],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim() || '[]') as T[];
}

export interface QueueDepth {
  name: string;
  ready: number;
  unacked: number;
}

/** Every queue of the vhost with its ready and unacknowledged message counts. */
export async function queueDepths(vhost: string): Promise<QueueDepth[]> {
  const management = managementUrl();
  if (management) {
    const rows = await managementGet<
      Array<{ name: string; messages_ready?: number; messages_unacknowledged?: number }>
    >(management, `/api/queues/${encodeURIComponent(vhost)}?columns=name,messages_ready,messages_unacknowledged`);
    return rows.map((r) => ({ name: r.name, ready: r.messages_ready ?? 0, unacked: r.messages_unacknowledged ?? 0 }));
  }
  const rows = await rabbitmqctl<{ name: string; messages_ready: number; messages_unacknowledged: number }>([
    'list_queues',
    '-p',
    vhost,
    'name',
    'messages_ready',
    'messages_unacknowledged',
  ]);
  return rows.map((r) => ({
    name: r.name,
    ready: Number(r.messages_ready),
    unacked: Number(r.messages_unacknowledged),
  }));
}

export interface QueueBinding {
  exchange: string;
  queue: string;
  routingKey: string;
}

/** The vhost's bindings of exchanges to queues (the default exchange's left out). */
export async function queueBindings(vhost: string): Promise<QueueBinding[]> {
  const management = managementUrl();
  const rows = management
    ? (
        await managementGet<
          Array<{ source: string; destination: string; destination_type: string; routing_key: string }>
        >(management, `/api/bindings/${encodeURIComponent(vhost)}`)
      ).map((r) => ({ source: r.source, destination: r.destination, kind: r.destination_type, key: r.routing_key }))
    : (
        await rabbitmqctl<{
          source_name: string;
          destination_name: string;
          destination_kind: string;
          routing_key: string;
        }>(['list_bindings', '-p', vhost, 'source_name', 'destination_name', 'destination_kind', 'routing_key'])
      ).map((r) => ({
        source: r.source_name,
        destination: r.destination_name,
        kind: r.destination_kind,
        key: r.routing_key,
      }));
  return rows
    .filter((r) => r.source !== '' && r.kind === 'queue')
    .map((r) => ({ exchange: r.source, queue: r.destination, routingKey: r.key }));
}

/** The user of every client connection open on the vhost. */
export async function connectionUsers(vhost: string): Promise<string[]> {
  const management = managementUrl();
  const rows = management
    ? await managementGet<Array<{ user: string; vhost: string }>>(management, '/api/connections?columns=user,vhost')
    : await rabbitmqctl<{ user: string; vhost: string }>(['list_connections', 'user', 'vhost']);
  return rows.filter((r) => r.vhost === vhost).map((r) => r.user);
}

export interface ConsumerQueue {
  name: string;
  app: AppName;
  /** Its bindings to the apps' event exchanges. */
  bindings: Array<{ exchange: AppName; routingKey: string }>;
  /** The event types its bindings let in: what its consumer accepts (as @shop/messaging's `toSpec` derives it). */
  accepts: ReadonlySet<string>;
}

/** The consumer queues: every queue bound to one of the four event exchanges, read off the broker. */
export function consumerQueuesOf(bindings: readonly QueueBinding[]): ConsumerQueue[] {
  const byQueue = new Map<string, ConsumerQueue>();
  for (const binding of bindings) {
    if (!(APP_NAMES as readonly string[]).includes(binding.exchange)) continue;
    const app = binding.queue.split('.')[0] as AppName;
    const queue = byQueue.get(binding.queue) ?? { name: binding.queue, app, bindings: [], accepts: new Set<string>() };
    queue.bindings.push({ exchange: binding.exchange as AppName, routingKey: binding.routingKey });
    byQueue.set(binding.queue, queue);
  }
  for (const queue of byQueue.values()) {
    const accepts = new Set<string>();
    for (const event of EVENTS.all) {
      if (queue.bindings.some((b) => b.exchange === event.producer && topicMatches(b.routingKey, event.type))) {
        accepts.add(event.type);
      }
    }
    queue.accepts = accepts;
  }
  return [...byQueue.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The queues a message published to `exchange` with `routingKey` reaches. */
export function queuesReached(
  queues: readonly ConsumerQueue[],
  exchange: AppName,
  routingKey: string,
): ConsumerQueue[] {
  return queues.filter((q) =>
    q.bindings.some((b) => b.exchange === exchange && topicMatches(b.routingKey, routingKey)),
  );
}

// ---------------------------------------------------------------------------------------------------
// What a consumer must do with a message

export type Expected = { kind: 'dead-letter'; reason: string; detail: string } | { kind: 'handled'; type: string };

export interface Decoded {
  ok: boolean;
  /** The contract's reason when not ok. */
  reason?: string;
  detail?: string;
  type?: string;
  subject?: string;
  id?: string;
}

/** The consumer's decode (`decodeEvent(parseEnvelope(body))`), as its pipeline maps failures to reasons. */
export function decodeBody(body: Buffer): Decoded {
  try {
    const { event } = decodeEvent(parseEnvelope(body), EVENTS);
    return { ok: true, type: event.type, subject: event.subject, id: event.id };
  } catch (error) {
    if (error instanceof ContractError) return { ok: false, reason: error.reason, detail: error.message.slice(0, 200) };
    return { ok: false, reason: 'invalid-envelope', detail: String(error).slice(0, 200) };
  }
}

/**
 * What `queue` must do with a message whose body decodes to `decoded`, published with the AMQP
 * user-id `userId` (undefined: none): dead-letter it with a reason, or hand it to its handler.
 */
export function expectedOutcome(
  queue: ConsumerQueue,
  decoded: Decoded,
  userId: string | undefined,
  userOf: (app: AppName) => string,
): Expected {
  if (!decoded.ok) return { kind: 'dead-letter', reason: decoded.reason ?? '?', detail: decoded.detail ?? '' };
  const type = decoded.type as string;
  const owner = EVENTS.find(type)?.producer as AppName;
  if (userId === undefined || userId !== userOf(owner)) {
    return { kind: 'dead-letter', reason: 'unauthenticated-producer', detail: `${type} from ${userId ?? '(none)'}` };
  }
  if (!queue.accepts.has(type)) return { kind: 'dead-letter', reason: 'unexpected-type', detail: type };
  return { kind: 'handled', type };
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

export type Family = 'data' | 'envelope' | 'body' | 'properties' | 'valid';

export interface FuzzMessage {
  family: Family;
  /** The routing key: an event type, published to its owner's exchange. */
  type: string;
  body: Buffer;
  /** The AMQP properties but `userId` and `persistent`, which the publisher sets. */
  properties: Options.Publish;
  /** What was done to it, for a failure message. */
  note: string;
}

/** What the generated data talks about: the system's real orders, customers and skus, and some made up. */
export interface FuzzWorld {
  orderIds: readonly string[];
  customerIds: readonly string[];
  skus: readonly string[];
}

type Json = unknown;
type JsonObject = Record<string, Json>;

const CURRENCY = 'USD';
const CANCELLATION_REASONS = ['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'CUSTOMER_REQUEST', 'TIMEOUT'] as const;
const DECLINE_REASONS = ['card_declined', 'insufficient_funds', 'amount_limit'] as const;
const NOTIFICATION_KINDS = ['ORDER_CONFIRMED', 'ORDER_CANCELLED', 'PAYMENT_REFUNDED'] as const;

const uuid = () => fc.uuid({ version: 4 });
const cents = () => fc.integer({ min: 0, max: 1_000_000 });
const quantity = () => fc.integer({ min: 1, max: 1000 });

/** Valid data of the latest version of `type`, about `orderId`. */
function validData(type: string, orderId: string, world: FuzzWorld): fc.Arbitrary<JsonObject> {
  const customerId = fc.constantFrom(...world.customerIds);
  const sku = fc.constantFrom(...world.skus);
  switch (type) {
    case 'order.placed':
      return fc.record({
        orderId: fc.constant(orderId),
        customerId,
        items: fc.array(fc.record({ sku, quantity: quantity() }), { minLength: 1, maxLength: 4 }),
        paymentToken: fc.constantFrom('tok_visa', 'tok_mastercard', 'tok_decline'),
      });
    case 'order.confirmed':
      return fc.record({ orderId: fc.constant(orderId), customerId, total: cents(), currency: fc.constant(CURRENCY) });
    case 'order.cancelled':
      return fc.record({
        orderId: fc.constant(orderId),
        customerId,
        reason: fc.constantFrom(...CANCELLATION_REASONS),
        previousStatus: fc.constantFrom('PENDING', 'CONFIRMED'),
      });
    case 'inventory.reserved':
      return fc.record({
        orderId: fc.constant(orderId),
        lines: fc.array(fc.record({ sku, quantity: quantity(), unitPrice: cents() }), { minLength: 1, maxLength: 4 }),
        total: cents(),
        currency: fc.constant(CURRENCY),
      });
    case 'inventory.rejected':
      return fc.record({
        orderId: fc.constant(orderId),
        reason: fc.constant('OUT_OF_STOCK'),
        missing: fc.array(
          fc.record({
            sku,
            requested: fc.integer({ min: 1, max: 5000 }),
            available: fc.integer({ min: 0, max: 5000 }),
          }),
          { maxLength: 3 },
        ),
      });
    case 'inventory.released':
      return fc.record({
        orderId: fc.constant(orderId),
        lines: fc.array(fc.record({ sku, quantity: quantity() }), { maxLength: 4 }),
      });
    case 'payment.captured':
      return fc.record({
        orderId: fc.constant(orderId),
        paymentId: uuid(),
        amount: cents(),
        currency: fc.constant(CURRENCY),
      });
    case 'payment.declined':
      return fc.record({
        orderId: fc.constant(orderId),
        paymentId: uuid(),
        amount: cents(),
        reason: fc.constantFrom(...DECLINE_REASONS),
      });
    case 'payment.refunded':
      return fc.record({
        orderId: fc.constant(orderId),
        paymentId: uuid(),
        customerId,
        amount: cents(),
        currency: fc.constant(CURRENCY),
      });
    case 'notification.sent':
      return fc.record({
        orderId: fc.constant(orderId),
        notificationId: uuid(),
        customerId,
        kind: fc.constantFrom(...NOTIFICATION_KINDS),
      });
    default:
      throw new Error(`no data arbitrary for ${type}: add one to event-fuzz.ts`);
  }
}

const clone = <T>(value: T): T => structuredClone(value);

/** A value of another JSON type than usual. */
const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

const badOrderId: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom('not-a-uuid', '', ' ', 'null', '../../etc/passwd', "'; DROP TABLE orders; --"),
  uuid().map((id) => id.replace(/-/g, '')),
  uuid().map((id) => ` ${id}`),
  uuid().map((id) => `${id}0`),
  uuid().map((id) => `{${id}}`),
  uuid().map((id) => id.slice(0, 35)),
  fc.integer(),
  fc.constant(null),
  fc.string({ maxLength: 40 }),
);

/** Out-of-range or oversized versions of a value, by its kind. */
function outOfRange(value: Json): fc.Arbitrary<Json> {
  if (typeof value === 'number') {
    return fc.constantFrom(
      -1,
      -0.5,
      0,
      1.5,
      1001,
      1e6 + 0.25,
      2 ** 31,
      2 ** 53 + 2,
      1e21,
      -1e21,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
    );
  }
  if (typeof value === 'string') {
    return fc.oneof(
      fc.constant(''),
      fc.integer({ min: 65, max: 20_000 }).map((n) => 'x'.repeat(n)),
      fc.constant('\u0000'),
    );
  }
  if (Array.isArray(value)) {
    return fc.oneof(
      fc.constant([]),
      fc.constant(Array.from({ length: 51 }, () => clone(value[0] ?? {}))),
      fc.constant([null]),
      fc.constant([{}]),
    );
  }
  return oddValue;
}

/** A field to change: a top-level key, or a key of the first element of an array field. */
function fieldPaths(data: JsonObject): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(data)) {
    paths.push([key]);
    if (Array.isArray(value) && value[0] && typeof value[0] === 'object') {
      for (const inner of Object.keys(value[0] as JsonObject)) paths.push([key, '0', inner]);
    }
  }
  return paths;
}

function getAt(data: JsonObject, path: string[]): Json {
  let node: Json = data;
  for (const part of path) node = (node as Record<string, Json>)[part];
  return node;
}

function setAt(data: JsonObject, path: string[], value: Json | undefined): void {
  let node = data as Record<string, Json>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string, Json>;
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

interface DataMutation {
  apply(data: JsonObject): { data: Json; note: string };
}

/** One change to valid data that (nearly always) makes it invalid. */
function dataMutation(): fc.Arbitrary<DataMutation> {
  return fc.oneof(
    fc.record({ pick: fc.nat(), value: oddValue }).map(({ pick, value }) => ({
      apply: (data: JsonObject) => {
        const path = pathOf(data, pick);
        setAt(data, path, value);
        return { data, note: `${path.join('.')}=${preview(value)} (wrong type)` };
      },
    })),
    fc.record({ pick: fc.nat(), seed: fc.nat() }).map(({ pick, seed }) => ({
      apply: (data: JsonObject) => {
        const path = pathOf(data, pick);
        const [value] = fc.sample(outOfRange(getAt(data, path)), { seed, numRuns: 1 });
        setAt(data, path, value);
        return { data, note: `${path.join('.')}=${preview(value)} (out of range)` };
      },
    })),
    fc.nat().map((pick) => ({
      apply: (data: JsonObject) => {
        const path = pathOf(data, pick);
        setAt(data, path, undefined);
        return { data, note: `${path.join('.')} missing` };
      },
    })),
    fc.nat().map((pick) => ({
      apply: (data: JsonObject) => {
        const path = pathOf(data, pick);
        setAt(data, path, null);
        return { data, note: `${path.join('.')}=null` };
      },
    })),
    badOrderId.map((value) => ({
      apply: (data: JsonObject) => {
        data['orderId'] = value;
        return { data, note: `orderId=${preview(value)}` };
      },
    })),
    fc
      .oneof(
        fc.anything({ maxDepth: 3 }),
        fc.object({ maxDepth: 2 }),
        fc.constant(null),
        fc.constant([]),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map((value) => ({
        apply: () => ({ data: value, note: `data=${preview(value)}` }),
      })),
  );
}

function pathOf(data: JsonObject, pick: number): string[] {
  const paths = fieldPaths(data);
  return paths.length ? paths[pick % paths.length] : ['orderId'];
}

/** Fields a producer never sends (zod strips them): harmless alone, so only ever added to invalid data. */
const extraFields = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), {
  minKeys: 1,
  maxKeys: 4,
});

function envelopeOf(definition: EventDefinition, data: Json, subject: Json, id: string, time: string): JsonObject {
  return {
    specversion: '1.0',
    id,
    source: `urn:shop:${definition.producer}`,
    type: definition.type,
    time,
    subject,
    datacontenttype: 'application/json',
    dataschema: dataSchemaUri(definition.type, definition.version),
    data,
  };
}

const eventTime = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

/** Near-valid data: the real field names, 1 to 3 changes, sometimes extra fields. */
function nearValidData(
  definition: EventDefinition,
  world: FuzzWorld,
): fc.Arbitrary<{ data: Json; orderId: string; note: string }> {
  return fc.constantFrom(...world.orderIds).chain((orderId) =>
    fc
      .tuple(
        validData(definition.type, orderId, world),
        fc.array(dataMutation(), { minLength: 1, maxLength: 3 }),
        fc.option(extraFields, { freq: 4 }),
      )
      .map(([valid, mutations, extra]) => {
        let data: Json = clone(valid);
        const notes: string[] = [];
        for (const mutation of mutations) {
          if (data === null || typeof data !== 'object' || Array.isArray(data)) break;
          const result = mutation.apply(data as JsonObject);
          data = result.data;
          notes.push(result.note);
        }
        if (extra && data !== null && typeof data === 'object' && !Array.isArray(data)) {
          data = { ...(data as JsonObject), ...extra };
          notes.push(`+${Object.keys(extra).length} extra field(s)`);
        }
        return { data, orderId, note: notes.join('; ') };
      }),
  );
}

const publishProps = (definition: EventDefinition, id: string): Options.Publish => ({
  messageId: id,
  type: definition.type,
  appId: definition.producer,
  contentType: 'application/cloudevents+json',
});

const json = (value: Json): Buffer => Buffer.from(JSON.stringify(value) ?? 'undefined', 'utf8');

/** (a) the right envelope around random or near-valid data. */
export function dataFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const randomData = fc
    .tuple(
      fc.constantFrom(...world.orderIds),
      fc.oneof(fc.anything({ maxDepth: 3 }), fc.object({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 })),
    )
    .map(([orderId, data]) => ({ data, orderId, note: `random data ${preview(data)}` }));
  return fc
    .tuple(
      fc.oneof({ weight: 1, arbitrary: randomData }, { weight: 3, arbitrary: nearValidData(definition, world) }),
      uuid(),
      eventTime,
    )
    .map(([{ data, orderId, note }, id, time]) => ({
      family: 'data' as const,
      type: definition.type,
      body: json(envelopeOf(definition, data, orderId, id, time)),
      properties: publishProps(definition, id),
      note,
    }));
}

interface EnvelopeMutation {
  note: string;
  apply(envelope: JsonObject): Json;
}

const set =
  (key: string, value: Json) =>
  (envelope: JsonObject): Json => {
    envelope[key] = value;
    return envelope;
  };
const drop =
  (key: string) =>
  (envelope: JsonObject): Json => {
    delete envelope[key];
    return envelope;
  };

/** One change to the envelope (many of them invalidating). */
function envelopeMutation(definition: EventDefinition): fc.Arbitrary<EnvelopeMutation> {
  const type = definition.type;
  const sameOwner = EVENTS.ownedBy(definition.producer)
    .map((e) => e.type)
    .filter((t) => t !== type);
  const otherOwner = EVENTS.all.filter((e) => e.producer !== definition.producer).map((e) => e.type);
  const m = (note: string, apply: (envelope: JsonObject) => Json): EnvelopeMutation => ({ note, apply });
  const field = (key: string, values: fc.Arbitrary<Json>) =>
    values.map((value) => m(`${key}=${preview(value)}`, set(key, value)));
  return fc.oneof(
    fc.constantFrom(
      ...['specversion', 'id', 'source', 'type', 'time', 'subject', 'datacontenttype', 'dataschema', 'data'].map(
        (key) => m(`no ${key}`, drop(key)),
      ),
    ),
    field('specversion', fc.constantFrom('0.3', '1', '1.0 ', '2.0', '', 1, 1.0, null, ['1.0'])),
    field('id', fc.oneof(fc.constantFrom('', 42, null, {}, true), fc.string({ maxLength: 20 }))),
    field('source', fc.oneof(fc.constantFrom('', null, 7, 'urn:shop:nobody'), fc.string({ maxLength: 30 }))),
    {
      weight: 2,
      arbitrary: field(
        'type',
        fc.constantFrom('order.exploded', type.toUpperCase(), `${type}.v2`, ` ${type}`, `${type}\u0000`, 'constructor'),
      ),
    },
    field('type', fc.constantFrom('', 42, null, ...(sameOwner.length ? sameOwner : [type]), ...otherOwner)),
    field(
      'time',
      fc.oneof(
        fc.constantFrom(
          'yesterday',
          '',
          '2024-13-01T00:00:00Z',
          '2024-02-30T00:00:00Z',
          '2024-01-01T00:00:00',
          '2024-01-01',
          '2024-01-01T25:00:00Z',
          1700000000000,
          null,
        ),
        eventTime,
      ),
    ),
    field('subject', fc.oneof(fc.constantFrom('', 42, null, 'not-an-order'), uuid())),
    field(
      'datacontenttype',
      fc.constantFrom('text/plain', 'application/xml', 'application/json; charset=utf-8', '', null, 1),
    ),
    {
      weight: 3,
      arbitrary: field(
        'dataschema',
        fc.constantFrom(
          dataSchemaUri(type, 99),
          dataSchemaUri(type, definition.version + 1),
          dataSchemaUri(type, 999_999_999),
          dataSchemaUri(type, 0),
          dataSchemaUri(type, 1_000_000_000),
          `urn:shop:events:${type}:v01`,
          `urn:shop:events:${type}:v-1`,
          `urn:shop:events:${type}:v1.5`,
          `urn:shop:events:${type === 'order.placed' ? 'order.confirmed' : 'order.placed'}:v1`,
          `https://schemas.example/${type}.json`,
          '',
          null,
          99,
        ),
      ),
    },
    field('causationid', fc.constantFrom('', 1, null, {})),
    field('traceparent', fc.constantFrom(1, null, [], '00-zz-zz-zz', '')),
    field('tracestate', fc.constantFrom(1, null, {}, 'a=b')),
    extraFields.map((extra) =>
      m(`+${Object.keys(extra).length} extra envelope field(s)`, (envelope) => ({ ...envelope, ...extra })),
    ),
    fc.constantFrom(
      m('envelope in an array', (envelope) => [envelope]),
      m('envelope wrapped', (envelope) => ({ event: envelope })),
      m('envelope as a JSON string', (envelope) => JSON.stringify(envelope)),
    ),
  );
}

/** (b) odd envelopes, around valid or near-valid data. */
export function envelopeFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const validOrNear = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(...world.orderIds)
        .chain((orderId) =>
          validData(definition.type, orderId, world).map((data) => ({ data, orderId, note: 'valid data' })),
        ),
    },
    { weight: 1, arbitrary: nearValidData(definition, world) },
  );
  // A valid event of another type under this routing key: another owner's (unauthenticated-producer),
  // or its owner's other type (unexpected-type for a queue bound to this one).
  const others = EVENTS.all.filter((e) => e.type !== definition.type);
  const retyped = fc
    .tuple(fc.constantFrom(...others), fc.constantFrom(...world.orderIds), uuid(), eventTime)
    .chain(([other, orderId, id, time]) =>
      validData(other.type, orderId, world).map((data) => ({
        family: 'envelope' as const,
        type: definition.type,
        body: json(envelopeOf(other, data, orderId, id, time)),
        properties: publishProps(definition, id),
        note: `a valid ${other.type} (owned by ${other.producer}) as ${definition.type}`,
      })),
    );
  const mutated = fc
    .tuple(validOrNear, fc.array(envelopeMutation(definition), { minLength: 1, maxLength: 2 }), uuid(), eventTime)
    .map(([{ data, orderId, note }, mutations, id, time]) => {
      let envelope: Json = envelopeOf(definition, data, orderId, id, time);
      for (const mutation of mutations) {
        if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) break;
        envelope = mutation.apply(envelope as JsonObject);
      }
      return {
        family: 'envelope' as const,
        type: definition.type,
        body: json(envelope),
        properties: publishProps(definition, id),
        note: `${mutations.map((m) => m.note).join('; ')} | ${note}`,
      };
    });
  return fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: retyped });
}

/** (c) bodies that are no envelope at all: bytes, text, JSON that is no object, deep, large. */
export function bodyFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const valid = (orderId: string, id: string, time: string) =>
    validData(definition.type, orderId, world).map((data) => envelopeOf(definition, data, orderId, id, time));
  const body: fc.Arbitrary<{ body: Buffer; note: string }> = fc.oneof(
    fc
      .uint8Array({ maxLength: 2048 })
      .map((bytes) => ({ body: Buffer.from(bytes), note: `${bytes.length} random bytes` })),
    fc
      .string({ unit: 'binary', maxLength: 300 })
      .map((text) => ({ body: Buffer.from(text, 'utf8'), note: `text ${preview(text)}` })),
    fc
      .constantFrom(
        '',
        ' ',
        'null',
        'true',
        '0',
        '-1',
        '"order.placed"',
        '[]',
        '{}',
        '{"specversion":"1.0"}',
        'NaN',
        '{"a":1}{"b":2}',
      )
      .map((text) => ({ body: Buffer.from(text), note: `JSON-ish ${JSON.stringify(text)}` })),
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((value) => value === null || typeof value !== 'object' || Array.isArray(value))
      .map((value) => ({ body: json(value), note: `JSON non-object ${preview(value)}` })),
    fc.integer({ min: 500, max: 20_000 }).map((depth) => ({
      body: Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`),
      note: `array nested ${depth} deep`,
    })),
    fc
      .tuple(fc.constantFrom(...world.orderIds), uuid(), eventTime, fc.integer({ min: 200, max: 5_000 }))
      .map(([orderId, id, time, depth]) => {
        let nested = '{}';
        for (let i = 0; i < depth; i++) nested = `{"a":${nested}}`;
        const envelope = JSON.stringify(envelopeOf(definition, '__DATA__', orderId, id, time));
        return {
          body: Buffer.from(envelope.replace('"__DATA__"', nested)),
          note: `data nested ${depth} deep`,
        };
      }),
    fc
      .tuple(fc.constantFrom(...world.orderIds), uuid(), eventTime, fc.integer({ min: 90_000, max: 120_000 }))
      .chain(([orderId, id, time, size]) =>
        valid(orderId, id, time).map((envelope) => {
          const data = envelope['data'] as JsonObject;
          const huge = { ...envelope, data: { ...data, orderId: 'f'.repeat(size) } };
          return { body: json(huge), note: `large body (${size} B orderId)` };
        }),
      ),
    fc.tuple(fc.constantFrom(...world.orderIds), uuid(), eventTime, fc.nat()).chain(([orderId, id, time, cut]) =>
      valid(orderId, id, time).map((envelope) => {
        const text = JSON.stringify(envelope);
        return { body: Buffer.from(text.slice(0, cut % text.length)), note: `valid event cut at ${cut % text.length}` };
      }),
    ),
    fc
      .tuple(
        fc.constantFrom(...world.orderIds),
        uuid(),
        eventTime,
        fc.constantFrom('utf16le', 'latin1', 'base64', 'hex', 'bom', 'trailing', 'nul'),
      )
      .chain(([orderId, id, time, encoding]) =>
        valid(orderId, id, time).map((envelope) => {
          const text = JSON.stringify(envelope);
          const body =
            encoding === 'bom'
              ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])
              : encoding === 'trailing'
                ? Buffer.from(`${text} garbage`)
                : encoding === 'nul'
                  ? Buffer.from(`${text}\u0000`)
                  : encoding === 'utf16le' || encoding === 'latin1'
                    ? Buffer.from(text.replace('"specversion"', '"spécversion"'), encoding)
                    : Buffer.from(Buffer.from(text).toString(encoding));
          return { body, note: `valid event as ${encoding}` };
        }),
      ),
  );
  return fc.tuple(body, uuid()).map(([{ body, note }, id]) => ({
    family: 'body' as const,
    type: definition.type,
    body,
    properties: publishProps(definition, id),
    note,
  }));
}

/** AMQP field-table values of every kind amqplib encodes, the odd numbers included. */
const headerValue: fc.LetrecValue<{ value: Json; leaf: Json }> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.double().map((value) => ({ '!': 'double', value })),
    fc.float().map((value) => ({ '!': 'float', value })),
    fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map((value) => ({ '!': 'long', value: Number(value) })),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((value) => ({ '!': 'timestamp', value })),
    fc
      .record({ places: fc.integer({ min: 0, max: 255 }), digits: fc.nat() })
      .map((value) => ({ '!': 'decimal', value })),
    fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
  ),
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('value'), { maxLength: 3 }),
    // no `!` key: amqplib reads `{ '!': type, value }` as a typed value
    fc.dictionary(
      fc.string({ minLength: 1, maxLength: 10 }).filter((key) => key !== '!'),
      tie('value'),
      { maxKeys: 3 },
    ),
  ),
}));

/** Header names the broker gives a meaning to (sender-selected distribution) or the fuzzer needs. */
const RESERVED_HEADERS = new Set(['CC', 'BCC', FUZZ_SEQ_HEADER]);

const headerName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 24 }),
  // Not x-death and the like: the broker itself reads those when it dead-letters, and it is shared.
  fc.constantFrom(
    'x-original-exchange',
    'x-original-routing-key',
    'x-original-user-id',
    'x-consumer-queue',
    'x-dead-letter-reason',
    'x-exception-message',
    'shop-delay-ms',
    'tracestate',
    '__proto__',
    'constructor',
  ),
);

const shortString = fc.string({ unit: 'binary', maxLength: 60 });

/** (d) a near-valid message with random AMQP properties and headers. */
export function propertiesFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const headers = fc
    .record(
      {
        random: fc.dictionary(headerName, headerValue.value, { maxKeys: 5 }),
        attempt: fc.oneof(
          fc.constantFrom(0, -1, 1.5, 2 ** 31 - 1, 99, '3', 'many', '', null, true, [2], { n: 2 }),
          fc.double().map((value) => ({ '!': 'double', value })),
          fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        ),
        traceparent: fc.oneof(
          fc.constantFrom(
            '',
            'garbage',
            '00-00000000000000000000000000000000-0000000000000000-01',
            'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
            '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
            42,
            null,
          ),
          fc.string({ maxLength: 80 }),
          fc.uint8Array({ maxLength: 55 }).map((b) => Buffer.from(b)),
        ),
      },
      { requiredKeys: ['random'] },
    )
    .map(({ random, attempt, traceparent }) => {
      const result: Record<string, Json> = {};
      for (const [key, value] of Object.entries(random)) {
        // defineProperty: a `__proto__` header is a header, not a prototype
        if (!RESERVED_HEADERS.has(key)) Object.defineProperty(result, key, { value, enumerable: true, writable: true });
      }
      if (attempt !== undefined) result['x-attempt'] = attempt;
      if (traceparent !== undefined) result['traceparent'] = traceparent;
      return result;
    });
  const property = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { freq: 2, nil: undefined });
  const properties = fc.record({
    headers,
    contentType: property(
      fc.oneof(
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/cloudevents+json; charset=utf-16',
          '',
          'application/octet-stream',
        ),
        shortString,
      ),
    ),
    contentEncoding: property(fc.oneof(fc.constantFrom('gzip', 'identity', 'base64', 'utf-16', ''), shortString)),
    messageId: property(fc.oneof(fc.constantFrom(''), shortString)),
    type: property(fc.oneof(fc.constantFrom(...EVENTS.all.map((e) => e.type)), shortString)),
    appId: property(shortString),
    correlationId: property(shortString),
    replyTo: property(shortString),
    priority: property(fc.integer({ min: 0, max: 255 })),
    timestamp: property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  });
  return fc
    .tuple(nearValidData(definition, world), uuid(), eventTime, properties, fc.boolean())
    .map(([{ data, orderId, note }, id, time, props, keepId]) => {
      const publish: Options.Publish = { ...publishProps(definition, id) };
      for (const [key, value] of Object.entries(props)) {
        if (value !== undefined) (publish as Record<string, unknown>)[key] = value;
      }
      if (keepId && props.messageId !== undefined) publish.messageId = id;
      return {
        family: 'properties' as const,
        type: definition.type,
        body: json(envelopeOf(definition, data, orderId, id, time)),
        properties: publish,
        note: `${describeProperties(publish)} | ${note}`,
      };
    });
}

/**
 * Valid events of a type only the orders timeline consumes (its projection takes anything valid):
 * the envelope's free-form parts at their odd but valid values.
 */
export function validFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const anyOffset = fc
    .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([sign, h, m]) => `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  const time = fc.oneof(
    eventTime,
    fc
      .tuple(
        fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        anyOffset,
      )
      .map(([date, offset]) => `${date.toISOString().slice(0, 19)}${offset}`),
    fc.constantFrom('0000-01-01T00:00:00Z', '2024-02-29T23:59:59.123456789Z', '2024-06-01T12:00:00+23:59'),
  );
  return fc
    .record({
      orderId: fc.constantFrom(...world.orderIds),
      id: fc.oneof(
        uuid(),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.constantFrom('nul\u0000id', ' '),
      ),
      time,
      source: fc.oneof(
        fc.constantFrom(`urn:shop:${definition.producer}`, 'urn:shop:orders', 'x'),
        fc.string({ minLength: 1, maxLength: 30 }),
      ),
      causationid: fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), { nil: undefined }),
      traceparent: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
      withoutSchema: fc.boolean(),
      extra: fc.option(extraFields, { nil: undefined }),
    })
    .chain((envelope) => validData(definition.type, envelope.orderId, world).map((data) => ({ envelope, data })))
    .map(({ envelope: e, data }) => {
      const body: JsonObject = {
        ...envelopeOf(definition, { ...data, ...(e.extra ?? {}) }, e.orderId, e.id, e.time),
        source: e.source,
      };
      if (e.withoutSchema) delete body['dataschema'];
      if (e.causationid !== undefined) body['causationid'] = e.causationid;
      if (e.traceparent !== undefined) body['traceparent'] = e.traceparent;
      return {
        family: 'valid' as const,
        type: definition.type,
        body: json(body),
        properties: { ...publishProps(definition, 'set-below'), messageId: messageIdFor(e.id) },
        note: `valid: id=${JSON.stringify(e.id)} time=${e.time} source=${JSON.stringify(e.source)}${e.withoutSchema ? ' no dataschema' : ''}`,
      };
    });
}

/**
 * Header values, at any depth, that amqplib decodes into a number its own encoder then refuses
 * (NaN, -Infinity, below -2^63, or fractional between 2^50 and 2^52): a consumer that copies the
 * headers of such a message onto a retry or dead-letter copy cannot publish that copy.
 */
export function unencodableHeaderValues(headers: Record<string, unknown> | undefined): string[] {
  const found: string[] = [];
  const floating = (n: number) => n >= 2 ** 63 || (Math.abs(n) < 2 ** 50 && Math.floor(n) !== n);
  const refused = (n: number) => !floating(n) && !(Number.isInteger(n) && n >= -(2 ** 63) && n < 2 ** 63);
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) {
      if (typeof value === 'number' && refused(value)) found.push(`${path}=${value}`);
      return;
    }
    if (Array.isArray(value)) return value.forEach((item, i) => walk(item, `${path}[${i}]`));
    const typed = value as { '!'?: unknown; value?: unknown };
    if (Object.hasOwn(typed, '!')) {
      if (typed['!'] === 'double' || typed['!'] === 'float') {
        const n = typed['!'] === 'float' ? Math.fround(Number(typed.value)) : Number(typed.value);
        if (refused(n)) found.push(`${path}=${typed['!']} ${n}`);
      }
      return;
    }
    for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
  };
  walk(headers ?? {}, '');
  return found;
}

/** The AMQP message id of an event id (a shortstr: at most 255 bytes). */
function messageIdFor(id: string): string {
  return Buffer.byteLength(id) < 256 ? id : id.slice(0, 60);
}

export function preview(value: unknown, max = 60): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…(${text.length})` : text;
}

function describeProperties(props: Options.Publish): string {
  const parts = Object.entries(props)
    .filter(([key]) => key !== 'headers')
    .map(([key, value]) => `${key}=${preview(value, 30)}`);
  const headers = Object.entries(props.headers ?? {}).map(([key, value]) => `${key}:${preview(value, 30)}`);
  return `props{${parts.join(', ')}} headers{${headers.join(', ')}}`;
}
