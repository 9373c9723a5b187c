import { z } from 'zod';
import { CLOUDEVENTS_CONTENT_TYPE, dataSchemaUri } from '../cloud-event';
import type { EventDefinition } from '../define-event';
import { type JsonSchema, toJsonSchema } from '../json-schema';
import { EVENTS, type EventRegistry } from '../registry';

const AMQP_BINDING_VERSION = '0.3.0';
const TRACEPARENT_PATTERN = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** 'payment.captured' -> 'paymentCaptured': channel and message ids. */
const idOf = (type: string): string => type.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
const pascal = (id: string): string => id[0].toUpperCase() + id.slice(1);

/** The component schema name of one version of an event's envelope. */
export const envelopeSchemaName = (type: string, version: number): string => `${type}.v${version}`;

/** The CloudEvents envelope a producer sends for one version of an event. */
export function envelopeJsonSchema(definition: EventDefinition, version: number): JsonSchema {
  const data = definition.versions.get(version);
  if (!data) throw new Error(`${definition.type} has no version ${version}`);
  const uri = z.literal(dataSchemaUri(definition.type, version));
  return toJsonSchema(
    z
      .object({
        specversion: z.literal('1.0'),
        id: z.uuid().describe('Unique per event; also the AMQP messageId.'),
        source: z.literal(`urn:shop:${definition.producer}`),
        type: z.literal(definition.type),
        time: z.iso.datetime({ offset: true }),
        subject: (definition.subjectField === 'orderId' ? z.uuid() : z.string().min(1)).describe(
          `What the event is about, equal to data.${definition.subjectField}.`,
        ),
        datacontenttype: z.literal('application/json'),
        dataschema: (version === 1 ? uri.optional() : uri).describe('The data schema version; absent means v1.'),
        data,
        causationid: z.uuid().describe('The id of the event that caused this one.').optional(),
        traceparent: z.string().regex(TRACEPARENT_PATTERN).describe('W3C trace context.').optional(),
        tracestate: z.string().optional(),
      })
      .meta({
        title: `${definition.type} v${version}`,
        description: definition.description,
      }),
  );
}

/**
 * The AsyncAPI 3.0 document of every event: a channel per event type on its producer's topic
 * exchange, a `send` operation for the producer, a `receive` operation per consumer, the latest version as the message payload and every
 * version's envelope in `components.schemas`. Pure and deterministic.
 */
export function generateAsyncApi(registry: EventRegistry = EVENTS): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, JsonSchema> = {};

  for (const definition of registry.all) {
    const { type, producer, version, description } = definition;
    const id = idOf(type);
    channels[id] = {
      address: type,
      title: type,
      description: `Routing key ${type} on the ${producer} topic exchange.`,
      messages: { [id]: { $ref: `#/components/messages/${id}` } },
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: {
            name: producer,
            type: 'topic',
            durable: true,
            autoDelete: false,
            vhost: '/',
          },
          bindingVersion: AMQP_BINDING_VERSION,
        },
      },
    };
    operations[`send${pascal(id)}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      title: `${producer} publishes ${type}`,
      summary: description,
      tags: [{ name: producer }],
      messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
      bindings: {
        amqp: { deliveryMode: 2, bindingVersion: AMQP_BINDING_VERSION },
      },
    };
    for (const consumer of definition.consumers) {
      operations[`${consumer}Receives${pascal(id)}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${id}` },
        title: `${consumer} consumes ${type}`,
        tags: [{ name: consumer }],
        messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
        bindings: { amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION } },
      };
    }
    messages[id] = {
      name: type,
      title: `${type} v${version}`,
      summary: description,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      correlationId: {
        description: 'The order id.',
        location: '$message.payload#/subject',
      },
      headers: {
        type: 'object',
        properties: {
          traceparent: { type: 'string', pattern: TRACEPARENT_PATTERN.source },
          tracestate: { type: 'string' },
        },
        required: ['traceparent'],
      },
      payload: {
        $ref: `#/components/schemas/${envelopeSchemaName(type, version)}`,
      },
      bindings: {
        amqp: { messageType: type, bindingVersion: AMQP_BINDING_VERSION },
      },
    };
    for (const v of definition.versions.keys()) {
      schemas[envelopeSchemaName(type, v)] = envelopeJsonSchema(definition, v);
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Shop events',
      version: '1.0.0',
      description: [
        'Every event the shop apps exchange over RabbitMQ: CloudEvents 1.0 in structured mode.',
        'Each app publishes to its own durable topic exchange, named after it; the routing key is the event type.',
        'AMQP properties: messageId = id, type = type, appId = the producing app, persistent, and a W3C traceparent header.',
        'Consumers read every version in components.schemas and upcast it to the latest.',
        'Generated from libs/contracts by `npx nx run contracts:asyncapi`: do not edit by hand.',
      ].join('\n'),
    },
    defaultContentType: CLOUDEVENTS_CONTENT_TYPE,
    servers: {
      rabbitmq: {
        host: 'localhost:5672',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description: 'RABBITMQ_URL, by default amqp://guest:guest@localhost:5672',
      },
    },
    channels,
    operations,
    components: { schemas, messages },
  };
}
