import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsString, IsUUID, Length } from 'class-validator';
import { UPSTREAM_APPS, type UpstreamApp } from '../config/console.settings';

/** The body of POST /api/dead-letters/redrive: which app, which of its queues, which messages. */
export class RedriveInput {
  @IsIn(UPSTREAM_APPS.map((app) => app.name))
  app!: UpstreamApp;

  @IsString()
  @Length(1, 255)
  queue!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  messageIds!: string[];
}
