import { BadRequestException, Controller, Get } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ArchiveAudit, UnknownCursorError, type PublishedEvent } from '@shop/messaging';
import { QueryParams, RequiresScope } from '@shop/platform';
import { ArchivedEventsQuery } from './dto/archived-events-query.dto';

@ApiTags('audit')
@Controller('events')
export class AuditController {
  constructor(private readonly audit: ArchiveAudit) {}

  @Get()
  @RequiresScope('admin')
  @ApiOperation({
    summary: "An order's events from the archive",
    description:
      'The CloudEvents of every app about the order (subject), oldest first, exactly as they were ' +
      'published (ids, times, trace parents), from the shop.events stream. Page with after (the last ' +
      'id of the previous page) and limit. An order the archive does not know is [].',
  })
  @ApiOkResponse({ description: 'CloudEvents 1.0 in structured mode, in publish order', type: [Object] })
  @ApiBadRequestResponse({ description: 'subject is not a UUID, or after is not an event of it' })
  async list(@QueryParams() query: ArchivedEventsQuery): Promise<PublishedEvent[]> {
    try {
      return await this.audit.eventsOf(query.subject.toLowerCase(), { after: query.after, limit: query.limit ?? 100 });
    } catch (error) {
      if (error instanceof UnknownCursorError) throw new BadRequestException([error.message]);
      throw error;
    }
  }
}
