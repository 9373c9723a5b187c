import { Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Projections, type ProjectionStatus } from '@shop/messaging';
import { RequiresScope } from '@shop/platform';

/** The read models folded from the archive (ProjectionsModule): their state, and their rebuild. */
@ApiTags('admin')
@Controller('admin/projections')
export class ProjectionsController {
  constructor(private readonly projections: Projections) {}

  @Get(':name')
  @RequiresScope('admin')
  @ApiOkResponse({ description: '{"state": "live"|"rebuilding", "position", "events", "startedAt", "finishedAt"}' })
  @ApiNotFoundResponse({ description: 'no such projection' })
  status(@Param('name') name: string): Promise<ProjectionStatus> {
    return this.projections.status(this.known(name));
  }

  @Post(':name/rebuild')
  @HttpCode(202)
  @RequiresScope('admin')
  @ApiOperation({
    summary: 'Rebuild a projection from the archive',
    description:
      'Folds the whole archive into a fresh table while the live one keeps serving and following new ' +
      'events, then switches it in at a consistent position. A rebuild already under way goes on.',
  })
  @ApiAcceptedResponse({ description: 'the rebuild is under way; its state as GET answers it' })
  @ApiNotFoundResponse({ description: 'no such projection' })
  rebuild(@Param('name') name: string): Promise<ProjectionStatus> {
    return this.projections.rebuild(this.known(name));
  }

  private known(name: string): string {
    if (!this.projections.has(name)) {
      throw new NotFoundException([`no projection "${name}"; there are: ${this.projections.names.join(', ')}`]);
    }
    return name;
  }
}
