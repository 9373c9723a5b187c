import { Body, Controller, Get, HttpCode, NotFoundException, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { MessagingService, UnknownQueueError, type DeadLetter, type RedriveSummary } from '@shop/messaging';
import { RequiresScope } from '../http/auth';
import { QueryParams } from '../http/input';
import { DeadLetterResponse } from './dto/dead-letter-response.dto';
import { ListDeadLettersQuery } from './dto/list-dead-letters-query.dto';
import { RedriveDeadLettersInput } from './dto/redrive-dead-letters-input.dto';
import { RedriveSummaryResponse } from './dto/redrive-summary-response.dto';

/** Every app's dead-letter queues (those of its consumers): what waits there, and sending it back. */
@ApiTags('admin')
@RequiresScope('admin')
@ApiNotFoundResponse({ description: "queue is not one of this app's consumer queues" })
@ApiServiceUnavailableResponse({ description: 'the broker is unavailable; retry in a moment' })
@Controller('admin/dead-letters')
export class DeadLettersController {
  constructor(private readonly messaging: MessagingService) {}

  @Get()
  @ApiOperation({
    summary: 'What waits in the dead-letter queues',
    description:
      'Oldest first per queue, without taking anything away: each message is read and handed back to its ' +
      'dead-letter queue.',
  })
  @ApiOkResponse({ type: [DeadLetterResponse] })
  @ApiBadRequestResponse({ description: 'limit is not an integer from 1 to 1000, or an unknown parameter' })
  list(@QueryParams() query: ListDeadLettersQuery): Promise<DeadLetter[]> {
    return found(this.messaging.deadLetters().list({ queue: query.queue, limit: query.limit ?? 100 }));
  }

  @Post('redrive')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send dead letters back to their queue',
    description:
      'Each selected message (`messageIds`, or `all` that are there when it starts) goes back to its queue once, ' +
      'through the retry exchange, with its id: an effect already applied is not applied again. A message that ' +
      'fails again returns to the dead-letter queue with its new reason and is not taken again by this request. ' +
      'With producer authentication on, a message its type’s owner did not publish is left in place (`skipped`).',
  })
  @ApiOkResponse({ type: RedriveSummaryResponse })
  @ApiBadRequestResponse({ description: 'neither or both of messageIds and all, or an id that is not a UUID' })
  redrive(@Body() input: RedriveDeadLettersInput): Promise<RedriveSummary> {
    const { queue, messageIds } = input;
    return found(this.messaging.deadLetters().redrive(messageIds ? { queue, messageIds } : { queue, all: true }));
  }
}

/** An UnknownQueueError is a 404 saying why. */
async function found<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof UnknownQueueError) throw new NotFoundException([error.message]);
    throw error;
  }
}
