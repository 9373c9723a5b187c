import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_DEAD_LETTERS_LIMIT } from '@shop/messaging';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsString,
  IsUUID,
  Length,
  ValidateBy,
  ValidateIf,
} from 'class-validator';

/** The body of POST /admin/dead-letters/redrive: the queue, and `messageIds` or `all: true` (exactly one). */
export class RedriveDeadLettersInput {
  @ApiProperty({
    description: "one of the app's consumer queues (`<app>.<name>`, not its `.dlq`)",
    minLength: 1,
    maxLength: 255,
    example: 'inventory.reserve-stock-on-order-placed',
  })
  @IsString()
  @Length(1, 255)
  queue!: string;

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    minItems: 1,
    maxItems: MAX_DEAD_LETTERS_LIMIT,
    description: 'the messages to send back (their CloudEvent ids); or `all`',
  })
  @ValidateIf((input: RedriveDeadLettersInput) => input.messageIds !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_DEAD_LETTERS_LIMIT)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  messageIds?: string[];

  @ApiPropertyOptional({
    enum: [true],
    description: 'every message in the dead-letter queue when the redrive starts; or `messageIds`',
  })
  @MessageIdsOrAll()
  all?: true;
}

/** `all` is true and `messageIds` absent, or `all` absent and `messageIds` given. */
function MessageIdsOrAll(): PropertyDecorator {
  return ValidateBy({
    name: 'messageIdsOrAll',
    validator: {
      validate: (all: unknown, args) => {
        const given = (args?.object as RedriveDeadLettersInput).messageIds !== undefined;
        return all === undefined ? given : all === true && !given;
      },
      defaultMessage: (args) => {
        const given = (args?.object as RedriveDeadLettersInput).messageIds !== undefined;
        if (args?.value === undefined) return 'give messageIds (a list of message ids) or all: true';
        if (given) return 'give messageIds or all: true, not both';
        return 'all must be true (or give messageIds instead)';
      },
    },
  });
}
