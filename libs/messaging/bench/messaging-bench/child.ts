/**
 * One side (publisher or consumer) of one benchmark run, started by messaging-bench.ts with its
 * RunConfig as argv[2] and driven over IPC (see protocol.ts).
 */
import 'reflect-metadata';
import { closedLoop, paced, Sink, type ConsumerClient, type PublisherClient, type Received } from './drivers';
import { now, type ChildMessage, type ClientName, type ParentMessage, type RunConfig } from './protocol';

interface ClientModule {
  publisher(config: RunConfig): Promise<PublisherClient>;
  consumer(config: RunConfig, received: Received): Promise<ConsumerClient>;
}

// Only the client under test is loaded.
const load: Record<ClientName, () => Promise<ClientModule>> = {
  raw: () => import('./clients/raw'),
  steps: () => import('./clients/steps'),
  library: () => import('./clients/library'),
  nest: () => import('./clients/nest'),
  golevelup: () => import('./clients/golevelup'),
};

const config = JSON.parse(process.argv[2] ?? '{}') as RunConfig;

function send(message: ChildMessage): void {
  process.send?.(message);
}

function fail(err: unknown): void {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  setTimeout(() => process.exit(1), 200).unref();
}

function onParent(handler: (message: ParentMessage) => Promise<void> | void): void {
  process.on('message', (message: ParentMessage) => {
    Promise.resolve()
      .then(() => handler(message))
      .catch(fail);
  });
}

async function stop(client: { close(): Promise<void> }): Promise<void> {
  const closed = client.close().catch((err: unknown) => fail(err));
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  process.exit(0);
}

async function consumerMain(): Promise<void> {
  const sink = new Sink(config, send);
  const client = await (await load[config.client]()).consumer(config, sink.received);
  const progress = setInterval(() => send({ type: 'progress', done: sink.measured }), 1000);
  progress.unref();
  onParent(async (message) => {
    if (message.type === 'go') {
      sink.arm();
      send({ type: 'armed' });
    } else if (message.type === 'stop') {
      clearInterval(progress);
      await stop(client);
    }
  });
  send({ type: 'ready' });
}

async function publisherMain(): Promise<void> {
  const client = await (await load[config.client]()).publisher(config);
  const inContext = client.inContext ?? (<T>(work: () => T): T => work());
  onParent(async (message) => {
    if (message.type === 'warmup') {
      await inContext(() => closedLoop(config.warmup, config.window, client.publish, 0));
      send({ type: 'warm' });
    } else if (message.type === 'go') {
      const savedBefore = await client.savedBytes?.();
      const base = process.cpuUsage();
      const firstAt = now();
      const result =
        config.kind === 'latency'
          ? await inContext(() => paced(config.messages, config.rate, config.window, client.publish, config.warmup))
          : await inContext(() => closedLoop(config.messages, config.window, client.publish, config.warmup));
      const lastAt = now();
      const usage = process.cpuUsage(base);
      const savedAfter = await client.savedBytes?.();
      send({
        type: 'published',
        count: config.messages,
        firstAt,
        lastAt,
        cpu: { user: usage.user, system: usage.system },
        maxLagMs: result?.maxLagMs,
        savedBytes: savedAfter === undefined ? undefined : savedAfter - (savedBefore ?? 0),
      });
    } else if (message.type === 'stop') {
      await stop(client);
    }
  });
  send({ type: 'ready', bodyBytes: client.bodyBytes });
}

// The orchestrator gone (killed, crashed): so are we.
process.on('disconnect', () => process.exit(2));
process.on('unhandledRejection', fail);
(config.role === 'consumer' ? consumerMain() : publisherMain()).catch(fail);
