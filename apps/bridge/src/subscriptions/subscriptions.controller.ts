import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { RequiresScope } from '@shop/platform';
import { SubscriptionInput } from './dto/subscription-input.dto';
import { CreatedSubscriptionResponse, SubscriptionResponse } from './dto/subscription-response.dto';
import { SubscriptionId } from './subscription-id.pipe';
import { SubscriptionsService, type Subscription } from './subscriptions.service';

/** With authentication on, managing subscriptions needs the scope `subscriptions`. */
@ApiTags('subscriptions')
@Controller('subscriptions')
@RequiresScope('subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Post()
  @ApiCreatedResponse({
    type: CreatedSubscriptionResponse,
    description: 'its queue is bound: every later event reaches it',
  })
  @ApiBadRequestResponse({ description: 'a type that matches no event, a URL the allow-list refuses, ...' })
  @ApiConflictResponse({ description: 'the name is taken' })
  @ApiServiceUnavailableResponse({ description: 'the broker or the database is out of reach' })
  create(@Body() input: SubscriptionInput): Promise<Subscription & { secret: string }> {
    return this.subscriptions.create(input);
  }

  @Get()
  @ApiOkResponse({ type: [SubscriptionResponse] })
  list(): Promise<Subscription[]> {
    return this.subscriptions.list();
  }

  @Get(':id')
  @ApiOkResponse({ type: SubscriptionResponse })
  @ApiNotFoundResponse()
  get(@Param('id', SubscriptionId) id: string): Promise<Subscription> {
    return this.subscriptions.get(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'no more deliveries; its queue and dead letters are deleted shortly' })
  @ApiNotFoundResponse()
  remove(@Param('id', SubscriptionId) id: string): Promise<void> {
    return this.subscriptions.remove(id);
  }
}
