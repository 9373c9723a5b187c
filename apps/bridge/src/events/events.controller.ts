import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  HttpCode,
  HttpException,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiForbiddenResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { EVENTS, HTTP_PRODUCERS, isHttpProducer } from '@shop/contracts';
import { AuthenticatesItself } from '@shop/platform';
import { acceptEvent, attributesOf, EventInputError } from './cloud-event-input';
import { ReceiptResponse } from './dto/receipt-response.dto';
import { CurrentProducer, ProducerGuard } from './producer.guard';
import { ReceivedEventsService, type Receipt } from './received-events.service';

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly received: ReceivedEventsService) {}

  /**
   * Publishes a CloudEvent of an HTTP producer (structured or binary mode), once the contract of its
   * type and version accepts it and the caller is the type's owner. 202 once it is in the outbox.
   */
  @Post()
  @HttpCode(202)
  @AuthenticatesItself()
  @UseGuards(ProducerGuard)
  @ApiConsumes('application/cloudevents+json', 'application/json')
  @ApiBody({
    description:
      'Structured mode: the CloudEvent as `application/cloudevents+json`. Binary mode: `ce-specversion`, `ce-id`, ' +
      '`ce-source`, `ce-type`, `ce-subject`, optional `ce-time` and `ce-dataschema` headers, and the data as `application/json`.',
    schema: {
      type: 'object',
      example: {
        specversion: '1.0',
        id: '9f3a3c4e-2c55-4c3f-9a51-6f2b1e0d7c11',
        source: 'urn:shop:erp',
        type: 'stock.adjusted',
        subject: 'SKU-1',
        datacontenttype: 'application/json',
        data: { sku: 'SKU-1', delta: 25, reason: 'goods-received' },
      },
    },
  })
  @ApiAcceptedResponse({ type: ReceiptResponse, description: 'in the outbox; published with confirms' })
  @ApiBadRequestResponse({ description: 'the contract refuses the event: each offending field named' })
  @ApiUnauthorizedResponse({ description: 'no producer credential, or not a valid one' })
  @ApiForbiddenResponse({ description: 'the caller does not own the event type' })
  @ApiConflictResponse({ description: 'the id was used before for another event' })
  @ApiUnsupportedMediaTypeResponse({ description: 'neither structured nor binary mode' })
  publish(@Req() req: Request, @Body() body: unknown, @CurrentProducer() producer: string): Promise<Receipt> {
    try {
      const attributes = attributesOf(req.headers, body);
      // Who may publish the type is said before what is wrong with the event: a caller learns
      // nothing of a contract it may not use.
      const definition = typeof attributes['type'] === 'string' ? EVENTS.find(attributes['type']) : undefined;
      if (definition && (definition.producer !== producer || !isHttpProducer(producer))) {
        const owner = definition.producer;
        throw new ForbiddenException([
          isHttpProducer(owner)
            ? `type: ${definition.type} belongs to ${owner}, not to ${producer}`
            : `type: ${definition.type} belongs to ${owner}, which publishes over AMQP; the bridge publishes only for ${HTTP_PRODUCERS.join(', ')}`,
        ]);
      }
      const traceparent = req.headers['traceparent'];
      const accepted = acceptEvent(attributes, EVENTS, typeof traceparent === 'string' ? traceparent : undefined);
      return this.received.accept(producer, accepted);
    } catch (error) {
      if (!(error instanceof EventInputError)) throw error;
      if (error.status === 415) throw new HttpException({ message: error.messages }, 415);
      throw new BadRequestException(error.messages);
    }
  }
}
