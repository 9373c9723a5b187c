import { currentGroupSize, quorumGroupSize } from './replication';

// RabbitMQ 3.10's refusals, as they reach amqplib
const refusal = (detail: string) =>
  `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg ${detail}"`;

describe('quorum queue replication', () => {
  it('sets a group size of min(3, nodes) only when the URL names several nodes', () => {
    expect(quorumGroupSize(1)).toBeUndefined();
    expect(quorumGroupSize(2)).toBe(2);
    expect(quorumGroupSize(3)).toBe(3);
    expect(quorumGroupSize(5)).toBe(3);
  });

  it('reads the group size an existing queue has from the broker`s refusal', () => {
    expect(
      currentGroupSize(
        refusal(
          `'x-quorum-initial-group-size' for queue 'q' in vhost '/': received the value '3' of type 'byte' but current is none`,
        ),
      ),
    ).toBeNull();
    expect(
      currentGroupSize(
        refusal(`'x-quorum-initial-group-size' for queue 'q' in vhost '/': received '2' but current is '3'`),
      ),
    ).toBe(3);
    expect(
      currentGroupSize(
        refusal(
          `'x-quorum-initial-group-size' for queue 'q' in vhost '/': received none but current is the value '3' of type 'byte'`,
        ),
      ),
    ).toBe(3);
    expect(
      currentGroupSize(refusal(`'x-delivery-limit' for queue 'q' in vhost '/': received '20' but current is '10'`)),
    ).toBeUndefined();
  });
});
