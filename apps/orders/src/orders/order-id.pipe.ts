import { BadRequestException, ParseUUIDPipe } from '@nestjs/common';

/** An order id in a path: a malformed one is a 400 in Nest's error shape, naming the parameter. */
export const OrderId = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException(['id must be a UUID']),
});
