import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ListOrdersQuery, OrderPage, OrderResponse, PlaceOrderInput } from './dto';
import type { OrderView } from './order';
import { OrdersService } from './orders.service';

/** A malformed id is a 400 in Nest's error shape, naming the parameter. */
export const OrderId = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException(['id must be a UUID']),
});

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @HttpCode(202)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1 to 255 characters: the same key with the same body answers the same order again',
  })
  @ApiAcceptedResponse({ type: OrderResponse, description: 'placed; Location: /orders/{id}' })
  async place(
    @Body() input: PlaceOrderInput,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderView> {
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 255)) {
      throw new BadRequestException(['Idempotency-Key must be 1 to 255 characters']);
    }
    const { order } = await this.orders.place(input, idempotencyKey);
    res.location(`/orders/${order.id}`);
    return order;
  }

  @Get()
  @ApiOkResponse({ type: OrderPage, description: 'newest first' })
  list(@Query() query: ListOrdersQuery) {
    return this.orders.list(query);
  }

  @Get(':id')
  @ApiOkResponse({ type: OrderResponse })
  get(@Param('id', OrderId) id: string): Promise<OrderView> {
    return this.orders.get(id);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: OrderResponse, description: 'cancelled; compensations follow' })
  cancel(@Param('id', OrderId) id: string): Promise<OrderView> {
    return this.orders.cancelByCustomer(id);
  }
}
