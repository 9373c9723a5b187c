import type { EventDefinition } from '@shop/contracts';
import * as fc from 'fast-check';
import type { FuzzMessage, FuzzWorld } from './fuzz-message';
import { envelopeOf, eventTime, json, publishProps, uuid } from './message-parts';
import { nearValidData } from './near-valid-data';
import { preview } from './preview';

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
