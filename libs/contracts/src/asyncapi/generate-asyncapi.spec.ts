import { Parser } from '@asyncapi/parser';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { EVENTS } from '../registry';
import { envelopeJsonSchema, generateAsyncApi } from './generate-asyncapi';

const DOC_FILE = join(__dirname, '../../../../docs/asyncapi.yaml');
const doc = generateAsyncApi() as {
  channels: Record<
    string,
    {
      address: string;
      bindings: {
        amqp: { exchange: { name: string; type: string; durable: boolean } };
      };
    }
  >;
  operations: Record<string, { action: string; title: string; tags: { name: string }[]; channel: { $ref: string } }>;
  components: {
    messages: Record<string, { contentType: string; payload: { $ref: string } }>;
    schemas: Record<string, unknown>;
  };
};

describe('AsyncAPI document', () => {
  it('docs/asyncapi.yaml is up to date with the event definitions', () => {
    const committed = parse(readFileSync(DOC_FILE, 'utf8'));
    if (!isDeepStrictEqual(committed, JSON.parse(JSON.stringify(doc)))) {
      throw new Error('docs/asyncapi.yaml is stale: run `npx nx run contracts:asyncapi` and commit the result');
    }
  });

  it('is a valid AsyncAPI 3.0 document', async () => {
    const diagnostics = await new Parser().validate(JSON.stringify(doc));
    // severity 0 = error, 1 = warning; the only info (2) is a hint that 3.1 exists.
    expect(diagnostics.filter((d) => d.severity < 2).map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
  });

  it("has one channel per event type: the routing key on its producer's durable topic exchange", () => {
    const channels = Object.values(doc.channels);
    expect(channels.map((c) => c.address)).toEqual(EVENTS.all.map((e) => e.type));
    for (const channel of channels) {
      expect(channel.bindings.amqp.exchange).toMatchObject({
        name: EVENTS.find(channel.address)?.producer,
        type: 'topic',
        durable: true,
      });
    }
  });

  it('has a send operation per event, tagged with its producer', () => {
    const operations = Object.values(doc.operations).filter((o) => o.action === 'send');
    expect(operations.map((o) => [o.action, o.tags[0].name])).toEqual(EVENTS.all.map((e) => ['send', e.producer]));
  });

  it("has a receive operation per consumer of each event, on the event's channel", () => {
    const receives = Object.values(doc.operations).filter((o) => o.action === 'receive');
    expect(receives.map((o) => [o.channel.$ref, o.tags[0].name])).toEqual(
      EVENTS.all.flatMap((e) =>
        e.consumers.map((app) => [`#/channels/${doc.channels[channelOf(e.type)] ? channelOf(e.type) : '?'}`, app]),
      ),
    );
    expect(receives.find((o) => o.title === 'payments consumes inventory.reserved')).toBeDefined();
  });

  it('sends CloudEvents whose data is the latest version, and keeps every older version in components', () => {
    for (const definition of EVENTS.all) {
      const latest = `${definition.type}.v${definition.version}`;
      const message = Object.values(doc.components.messages).find((m) => m.payload.$ref.endsWith(`/${latest}`));
      expect(message?.contentType).toBe('application/cloudevents+json');
      for (const version of definition.versions.keys()) {
        expect(doc.components.schemas[`${definition.type}.v${version}`]).toEqual(
          envelopeJsonSchema(definition, version),
        );
      }
    }
    expect(Object.keys(doc.components.schemas)).toContain('payment.captured.v1');
  });

  it('requires dataschema from version 2 on, as its absence means version 1', () => {
    const required = (name: string) => (doc.components.schemas[name] as { required: string[] }).required;
    expect(required('payment.captured.v1')).not.toContain('dataschema');
    expect(required('payment.captured.v2')).toContain('dataschema');
  });
});

/** The channel id of an event type: `order.placed` -> `orderPlaced`. */
function channelOf(type: string): string {
  return type.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
}
