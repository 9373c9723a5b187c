import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AppName, ProducerName } from './app-name';
import { type CloudEvent, dataSchemaUri } from './cloud-event';
import { ContractError } from './contract-error';

export interface CreateEventOptions {
  /** Defaults to a new UUID. */
  id?: string;
  /** Defaults to now. */
  time?: Date;
  /** The id of the event being handled when this one is created. */
  causationId?: string;
  traceparent?: string;
  tracestate?: string;
}

export interface EventDefinition<TType extends string = string, TData = unknown> {
  /** e.g. 'order.placed'; also the AMQP routing key. */
  readonly type: TType;
  /**
   * The owner: an app, or an HTTP producer whose events the bridge publishes. Also the exchange the
   * event is published to.
   */
  readonly producer: ProducerName;
  /**
   * The apps that subscribe to it. Broker permissions are generated from this list (an app may bind
   * its queues only to the events it consumes), and an app fails at start when it handles an event
   * whose contract does not list it.
   */
  readonly consumers: readonly AppName[];
  /** The field of `data` that is the CloudEvent's `subject`: `orderId` unless the event is not about an order. */
  readonly subjectField: string;
  /** The latest schema version. */
  readonly version: number;
  /** The latest data schema. */
  readonly schema: z.ZodType<TData>;
  /** Every version's data schema, the latest included. */
  readonly versions: ReadonlyMap<number, z.ZodType>;
  readonly description: string;
  /**
   * Validates `data` against version `from`, runs the upcaster chain to the latest version and
   * validates the result; throws ContractError 'unknown-version' or 'schema-invalid'.
   */
  upcast(from: number, data: unknown): TData;
  /** A new CloudEvent of the latest version; throws ContractError 'schema-invalid' on bad data. */
  create(data: TData, options?: CreateEventOptions): CloudEvent<TData>;
}

export type EventData<E> = E extends EventDefinition<string, infer D> ? D : never;

/**
 * What an event is about is its CloudEvent's subject: one order (`data.orderId`) for the saga's
 * events, another field named by `subject` for the others (a product's sku).
 */
type SubjectDataSchema = z.ZodType<object>;

/** The upcasters a list of versions needs: [V1, V2, V3] -> [(v1) => v2, (v2) => v3]. */
export type Upcasters<V extends readonly z.ZodType[]> = V extends readonly [
  infer A extends z.ZodType,
  infer B extends z.ZodType,
  ...infer Rest extends z.ZodType[],
]
  ? [(data: z.output<A>) => z.input<B>, ...Upcasters<[B, ...Rest]>]
  : [];

/** The fields of a data shape that hold a string. */
type SubjectField<T> = { [K in keyof T]-?: T[K] extends string ? K : never }[keyof T] & string;

type Latest<V extends readonly z.ZodType[]> = V extends readonly [...z.ZodType[], infer L extends z.ZodType]
  ? L
  : never;

export interface EventSpec<TType extends string, V extends readonly [...z.ZodType[], SubjectDataSchema]> {
  type: TType;
  producer: ProducerName;
  /** The field of the data that is the subject (a string in every version); `orderId` by default. */
  subject?: SubjectField<z.output<Latest<V>>>;
  /** The apps that subscribe to it (none by default). */
  consumers?: readonly AppName[];
  /** One sentence: what happened. */
  description: string;
  /**
   * The data schema of version 1, 2, ... in order; the last is the latest.
   * A published version never changes shape, except by optional fields (see schema-lock.json).
   */
  versions: V;
  /** One small pure function per step: the first turns v1 data into v2 data, and so on. */
  upcasters: Upcasters<V>;
}

/** Builds an event definition from its versions and the upcasters between them. */
export function defineEvent<const TType extends string, const V extends readonly [...z.ZodType[], SubjectDataSchema]>(
  spec: EventSpec<TType, V>,
): EventDefinition<TType, z.output<Latest<V>>> {
  return buildDefinition<TType, z.output<Latest<V>>>(
    spec.type,
    spec.producer,
    spec.subject ?? 'orderId',
    spec.consumers ?? [],
    spec.description,
    spec.versions,
    spec.upcasters as readonly ((data: unknown) => unknown)[],
  );
}

function buildDefinition<TType extends string, TData extends object>(
  type: TType,
  producer: ProducerName,
  subjectField: string,
  consumers: readonly AppName[],
  description: string,
  schemas: readonly z.ZodType[],
  upcasters: readonly ((data: unknown) => unknown)[],
): EventDefinition<TType, TData> {
  if (schemas.length === 0 || upcasters.length !== schemas.length - 1) {
    throw new Error(`${type}: ${schemas.length} version(s) need ${schemas.length - 1} upcaster(s)`);
  }
  for (const [i, s] of schemas.entries()) {
    const field = s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>)[subjectField] : undefined;
    if (!field || field.safeParse(undefined).success) {
      throw new Error(`${type} v${i + 1}: the subject, data.${subjectField}, must be a required field`);
    }
  }
  const versions: ReadonlyMap<number, z.ZodType> = new Map(schemas.map((schema, i) => [i + 1, schema]));
  const version = schemas.length;
  const schema = schemas[version - 1] as z.ZodType<TData>;

  // Validation runs on every event created and received: compiled (`z.compile`), a generated fast
  // path for valid data and the ordinary parser, with its issues, for anything else.
  const validators: ReadonlyMap<number, z.ZodType> = new Map(schemas.map((s, i) => [i + 1, z.compile(s)]));
  const validate = (v: number, data: unknown): unknown => {
    const result = (validators.get(v) as z.ZodType).safeParse(data);
    if (!result.success) {
      throw new ContractError(
        'schema-invalid',
        `${type} v${v} data is invalid: ${z.prettifyError(result.error)}`,
        result.error.issues,
      );
    }
    return result.data;
  };

  const source = `urn:shop:${producer}`;
  const dataschema = dataSchemaUri(type, version);

  return Object.freeze({
    type,
    producer,
    consumers: Object.freeze([...new Set(consumers)]),
    subjectField,
    version,
    schema,
    versions,
    description,
    upcast(from: number, data: unknown): TData {
      if (!versions.has(from)) {
        throw new ContractError('unknown-version', `${type} has no version ${from} (known: 1 to ${version})`);
      }
      let current = validate(from, data);
      for (let v = from; v < version; v++) current = validate(v + 1, upcasters[v - 1](current));
      return current as TData;
    },
    create(data: TData, options: CreateEventOptions = {}): CloudEvent<TData> {
      const valid = validate(version, data) as TData;
      // Built field by field, with the constant strings made once: every event of a type then shares
      // one shape, and JSON.stringify (the outbox row) does not take V8's slow path on it.
      const event: CloudEvent<TData> = {
        specversion: '1.0',
        id: options.id ?? randomUUID(),
        source,
        type,
        time: (options.time ?? new Date()).toISOString(),
        subject: (valid as Record<string, string>)[subjectField],
        datacontenttype: 'application/json',
        dataschema,
        data: valid,
      };
      if (options.causationId !== undefined) event.causationid = options.causationId;
      if (options.traceparent !== undefined) event.traceparent = options.traceparent;
      if (options.tracestate !== undefined) event.tracestate = options.tracestate;
      return event;
    },
  });
}
