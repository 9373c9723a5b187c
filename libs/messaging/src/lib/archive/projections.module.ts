import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type Type,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MessagingService } from '../messaging.service';
import type { Projection, ProjectionStatus } from './projection';
import { ProjectionMetrics } from './projection-metrics';
import { ProjectionRunner } from './projection-runner';

const PROJECTIONS = Symbol('PROJECTIONS');

/** The app's projections of the archive: each run by its leader replica, rebuilt on request. */
@Injectable()
export class Projections implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly runners: Map<string, ProjectionRunner>;

  constructor(@Inject(PROJECTIONS) projections: Projection[], db: DataSource, messaging: MessagingService) {
    const metrics = new ProjectionMetrics(messaging.metrics.registry);
    this.runners = new Map(
      projections.map((projection) => [
        projection.name,
        new ProjectionRunner(projection, db, messaging.archive, metrics),
      ]),
    );
  }

  get names(): string[] {
    return [...this.runners.keys()];
  }

  has(name: string): boolean {
    return this.runners.has(name);
  }

  /** Asks for a rebuild of `name` from the beginning of the archive; a rebuild under way goes on. */
  rebuild(name: string): Promise<ProjectionStatus> {
    return this.runner(name).rebuild();
  }

  status(name: string): Promise<ProjectionStatus> {
    return this.runner(name).status();
  }

  onApplicationBootstrap(): void {
    for (const runner of this.runners.values()) runner.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
  }

  private runner(name: string): ProjectionRunner {
    const runner = this.runners.get(name);
    if (!runner) throw new Error(`no projection named "${name}" (there are: ${this.names.join(', ')})`);
    return runner;
  }
}

/**
 * Registers read models folded from the archive: `ProjectionsModule.register([OrderTimelineProjection])`.
 * Each is a provider implementing `Projection`; `Projections` runs them and rebuilds them by name.
 */
@Module({})
export class ProjectionsModule {
  static register(projections: Array<Type<Projection>>): DynamicModule {
    return {
      module: ProjectionsModule,
      providers: [
        ...projections,
        { provide: PROJECTIONS, useFactory: (...instances: Projection[]) => instances, inject: projections },
        Projections,
      ],
      exports: [Projections, ...projections],
    };
  }
}
