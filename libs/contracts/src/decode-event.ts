import { type CloudEvent, dataSchemaUri, versionOf } from './cloud-event';
import { ContractError } from './contract-error';
import type { EventDefinition } from './define-event';
import { EVENTS, type EventRegistry } from './registry';

export interface DecodedEvent {
  definition: EventDefinition;
  /** The version the producer sent, before upcasting. */
  receivedVersion: number;
  /** The event with `data` in the latest shape and the latest version's `dataschema`. */
  event: CloudEvent<unknown>;
}

/**
 * The consumer's full decode of a parsed envelope: its definition by type, its version, data
 * validated and upcast to the latest version, subject checked against its data (`data.orderId`, or the
 * definition's other subject field).
 * Throws ContractError 'unknown-type', 'unknown-version', 'schema-invalid' or 'invalid-envelope'.
 */
export function decodeEvent(envelope: CloudEvent<unknown>, registry: EventRegistry = EVENTS): DecodedEvent {
  const definition = registry.find(envelope.type);
  if (!definition) throw new ContractError('unknown-type', `unknown event type "${envelope.type}"`);
  const receivedVersion = versionOf(envelope);
  const data = definition.upcast(receivedVersion, envelope.data);
  const field = definition.subjectField;
  const subject = (data as Record<string, unknown>)[field];
  if (subject !== envelope.subject) {
    throw new ContractError(
      'invalid-envelope',
      `${envelope.type}: subject "${envelope.subject}" is not data.${field} "${String(subject)}"`,
    );
  }
  return {
    definition,
    receivedVersion,
    event: {
      ...envelope,
      dataschema: dataSchemaUri(definition.type, definition.version),
      data,
    },
  };
}
