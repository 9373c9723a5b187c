import { BadRequestException, ParseUUIDPipe } from '@nestjs/common';

/** A subscription id in a path: a malformed one is a 400 in Nest's error shape, naming the parameter. */
export const SubscriptionId = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException(['id must be a UUID']),
});
