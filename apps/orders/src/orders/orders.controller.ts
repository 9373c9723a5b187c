import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Res,
  UseGuards,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdmissionGuard, CurrentCustomer, customerScope, QueryParams } from '@shop/platform';
import type { Response } from 'express';
import { OrderTimelineResponse } from '../timeline/dto/order-timeline-response.dto';
import { OrderTimelineService } from '../timeline/order-timeline.service';
import type { OrderTimelineView } from '../timeline/timeline-entry.entity';
import { ListOrdersQuery } from './dto/list-orders-query.dto';
import { OrderPage } from './dto/order-page.dto';
import { OrderResponse } from './dto/order-response.dto';
import { PlaceOrderInput } from './dto/place-order-input.dto';
import { OrderId } from './order-id.pipe';
import type { OrderView } from './order.entity';
import { OrdersService } from './orders.service';

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly timelines: OrderTimelineService,
  ) {}

  @Post()
  @HttpCode(202)
  // refused before the body is validated or the database touched when the saga is full (orders/admission.ts)
  @UseGuards(AdmissionGuard)
  @ApiServiceUnavailableResponse({
    description: 'overloaded (or a dependency is out of reach): try again after Retry-After seconds',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1 to 255 characters: the same key with the same body answers the same order again',
  })
  @ApiAcceptedResponse({ type: OrderResponse, description: 'placed; Location: /orders/{id}' })
  @ApiForbiddenResponse({ description: 'customerId is not the authenticated customer' })
  async place(
    @Body() input: PlaceOrderInput,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
    @CurrentCustomer() customer: string | undefined,
  ): Promise<OrderView> {
    customerScope(input.customerId, customer);
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 255)) {
      throw new BadRequestException(['Idempotency-Key must be 1 to 255 characters']);
    }
    const { order } = await this.orders.place(input, idempotencyKey);
    res.location(`/orders/${order.id}`);
    return order;
  }

  @Get()
  @ApiOkResponse({ type: OrderPage, description: "newest first; with authentication, the caller's own" })
  @ApiForbiddenResponse({ description: 'customerId is not the authenticated customer' })
  list(@QueryParams() query: ListOrdersQuery, @CurrentCustomer() customer: string | undefined) {
    return this.orders.list({ ...query, customerId: customerScope(query.customerId, customer) });
  }

  // before ':id', the more specific path first
  @Get(':id/timeline')
  @ApiOperation({
    summary: "The order's timeline",
    description:
      'Every event about the order from every service (orders, inventory, payments, notifications), ' +
      'by the time it happened, with its producer and trace id. A read model fed by the events: ' +
      'it may lag the order by a moment.',
  })
  @ApiOkResponse({ type: OrderTimelineResponse })
  @ApiBadRequestResponse({ description: 'id is not a UUID' })
  @ApiNotFoundResponse({ description: "no such order (or another customer's)" })
  timeline(@Param('id', OrderId) id: string, @CurrentCustomer() customer?: string): Promise<OrderTimelineView> {
    return this.timelines.read(id, customer);
  }

  @Get(':id')
  @ApiOkResponse({ type: OrderResponse })
  @ApiNotFoundResponse({ description: "no such order (or another customer's)" })
  get(@Param('id', OrderId) id: string, @CurrentCustomer() customer?: string): Promise<OrderView> {
    return this.orders.get(id, customer);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: OrderResponse, description: 'cancelled; compensations follow' })
  @ApiNotFoundResponse({ description: "no such order (or another customer's)" })
  cancel(@Param('id', OrderId) id: string, @CurrentCustomer() customer?: string): Promise<OrderView> {
    return this.orders.cancelByCustomer(id, customer);
  }
}
