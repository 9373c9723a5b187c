import { fork, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { createTestVhost } from '@shop/testing';
import type {
  ChildMessage,
  ClientName,
  CpuTime,
  LargeEncoding,
  LatencySummary,
  ParentMessage,
  QueueType,
  RunConfig,
  RunKind,
} from './protocol';

export interface RunSettings {
  brokerUrl: string;
  messages: number;
  warmup: number;
  prefetch: number;
  window: number;
  rate: number;
  latencySeconds: number;
  /** Large-event runs: bytes of JSON per event, and messages per run. */
  largeEventBytes: number;
  largeMessages: number;
  /** Write a V8 CPU profile of each child of these clients into `cpuProfDir`. */
  cpuProfClients: ClientName[];
  cpuProfDir: string;
  /** Echo the children's output. */
  verbose: boolean;
}

export interface PlannedRun {
  index: number;
  round: number;
  queueType: QueueType;
  client: ClientName;
  kind: RunKind;
  /** A large-event run (the library, throughput): with compression off, gzip or br. */
  large?: LargeEncoding;
}

export interface RunRecord extends PlannedRun {
  startedAt: string;
  ok: boolean;
  error?: string;
  messages: number;
  bodyBytes?: number;
  /** Bytes on the wire per message (the body as published: compressed or not); large-event runs. */
  wireBytesPerMsg?: number;
  /** First publish to last ack, ms. */
  e2eMs?: number;
  /** Messages per second, first publish to last ack. */
  e2eRate?: number;
  /** Messages per second, first publish to last confirm. */
  publishRate?: number;
  publisherCpu?: CpuTime;
  consumerCpu?: CpuTime;
  /** (user + system) / messages, µs. */
  publisherCpuUsPerMsg?: number;
  consumerCpuUsPerMsg?: number;
  latency?: LatencySummary;
  /** Latency runs: the publisher's worst lag behind its schedule, ms. */
  maxLagMs?: number;
}

export const EXCHANGE = 'orders';
export const ROUTING_KEY = 'order.placed';
export const QUEUE = 'bench.order-placed';
/** The large-event runs' routing key (their event's type). */
export const LARGE_ROUTING_KEY = 'order.large-placed';

const CHILD = join(__dirname, 'child.ts');

/** What to undo if the orchestrator is interrupted mid-run (Ctrl-C): children killed, vhost deleted. */
export const pendingCleanups = new Set<() => Promise<void>>();
const WORKSPACE = resolve(__dirname, '../../../..');

/**
 * One run in a vhost of its own: declare the queue, start the consumer, then the publisher; warm up;
 * measure; stop both; check that the queue is empty (every message acked); delete the vhost.
 */
export async function runOnce(
  plan: PlannedRun,
  settings: RunSettings,
  onProgress: (done: number, total: number) => void,
): Promise<RunRecord> {
  const messages = plan.large
    ? settings.largeMessages
    : plan.kind === 'latency'
      ? Math.round(settings.rate * settings.latencySeconds)
      : settings.messages;
  const routingKey = plan.large ? LARGE_ROUTING_KEY : ROUTING_KEY;
  // enough for the JIT and the connection; more would only push more large bodies through first
  const warmup = plan.large ? Math.min(settings.warmup, 500) : settings.warmup;
  const record: RunRecord = { ...plan, startedAt: new Date().toISOString(), ok: false, messages };
  const vhost = await createTestVhost('bench-messaging', { brokerUrl: settings.brokerUrl });
  const children: Child[] = [];
  const cleanup = async () => {
    await Promise.all(children.map((child) => child.kill()));
    await vhost.delete();
  };
  pendingCleanups.add(cleanup);
  let model: ChannelModel | undefined;
  try {
    model = await connect(vhost.url);
    const channel = await model.createChannel();
    await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
    await channel.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': plan.queueType } });
    await channel.bindQueue(QUEUE, EXCHANGE, routingKey);

    const base: Omit<RunConfig, 'role'> = {
      client: plan.client,
      kind: plan.kind,
      url: vhost.url,
      exchange: EXCHANGE,
      routingKey,
      queue: QUEUE,
      messages,
      warmup,
      prefetch: settings.prefetch,
      window: settings.window,
      rate: settings.rate,
      ...(plan.large && { large: { bytes: settings.largeEventBytes, compression: plan.large } }),
    };
    const profile = settings.cpuProfClients.includes(plan.client)
      ? (role: string) => [
          '--cpu-prof',
          '--cpu-prof-dir',
          settings.cpuProfDir,
          '--cpu-prof-name',
          `${plan.client}-${plan.queueType}-${plan.kind}${plan.large ? `-large-${plan.large}` : ''}-r${plan.round}-${role}.cpuprofile`,
        ]
      : () => [];

    // Consumers first: the publisher starts once the broker lists the consumer on the queue.
    const consumer = new Child({ ...base, role: 'consumer' }, profile('consumer'), settings.verbose);
    children.push(consumer);
    await consumer.next('ready', 60_000);
    await waitFor(
      async () => (await channel.checkQueue(QUEUE)).consumerCount >= 1,
      20_000,
      'the consumer on the queue',
    );

    const publisher = new Child({ ...base, role: 'publisher' }, profile('publisher'), settings.verbose);
    children.push(publisher);
    const ready = await publisher.next('ready', 60_000);
    record.bodyBytes = ready.bodyBytes;

    if (warmup > 0) {
      publisher.send({ type: 'warmup' });
      await Promise.all([publisher.next('warm', 120_000), consumer.next('warm', 120_000)]);
    }
    consumer.send({ type: 'go' });
    await consumer.next('armed', 10_000);
    consumer.onProgress = (done) => onProgress(done, messages);
    publisher.send({ type: 'go' });

    const timeoutMs =
      plan.kind === 'latency' ? settings.latencySeconds * 1000 + 60_000 : 60_000 + (messages / 200) * 1000;
    const [published, consumed] = await Promise.all([
      publisher.next('published', timeoutMs),
      consumer.next('consumed', timeoutMs),
    ]);

    // RabbitMQ applies a quorum queue's acks asynchronously: when a consumer's channel closes right
    // after its last acks, the queue can take the close first and return those messages. A pause
    // before stopping keeps that race out of the check below.
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all(children.map((child) => child.stop()));
    let left = (await channel.checkQueue(QUEUE)).messageCount;
    for (let i = 0; left !== 0 && i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await channel.checkQueue(QUEUE)).messageCount;
    }
    if (left !== 0) throw new Error(`${left} message(s) left in the queue after the consumer stopped: not all acked`);
    if (consumed.count !== messages) throw new Error(`consumed ${consumed.count} of ${messages}`);

    record.e2eMs = consumed.lastAt - published.firstAt;
    record.e2eRate = messages / (record.e2eMs / 1000);
    record.publishRate = messages / ((published.lastAt - published.firstAt) / 1000);
    record.publisherCpu = published.cpu;
    record.consumerCpu = consumed.cpu;
    record.publisherCpuUsPerMsg = (published.cpu.user + published.cpu.system) / messages;
    record.consumerCpuUsPerMsg = (consumed.cpu.user + consumed.cpu.system) / messages;
    if (plan.large && record.bodyBytes !== undefined) {
      record.wireBytesPerMsg = record.bodyBytes - (published.savedBytes ?? 0) / messages;
    }
    if (consumed.latency) record.latency = consumed.latency;
    if (published.maxLagMs !== undefined) record.maxLagMs = published.maxLagMs;
    record.ok = true;
    await channel.close();
  } catch (err) {
    record.error = (err as Error).message;
    const output = children.map((child) => child.tail()).join('\n');
    if (output.trim()) record.error += `\n${output}`;
  } finally {
    await model?.close().catch(() => undefined);
    await cleanup();
    pendingCleanups.delete(cleanup);
  }
  return record;
}

type MessageOf<T extends ChildMessage['type']> = Extract<ChildMessage, { type: T }>;

/** A child process of child.ts and the messages it sent, awaited by type. */
class Child {
  private readonly process: ChildProcess;
  private readonly inbox: ChildMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private output = '';
  private exited = false;
  private failure?: Error;
  onProgress?: (done: number) => void;

  constructor(
    private readonly config: RunConfig,
    extraArgs: string[],
    verbose: boolean,
  ) {
    this.process = fork(CHILD, [JSON.stringify(config)], {
      cwd: WORKSPACE,
      execArgv: ['-r', '@swc-node/register', ...extraArgs],
      env: { ...process.env, SWC_NODE_PROJECT: join(WORKSPACE, 'tsconfig.base.json') },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
      if (verbose) process.stderr.write(`[${config.client} ${config.role}] ${chunk.toString()}`);
    };
    this.process.stdout?.on('data', keep);
    this.process.stderr?.on('data', keep);
    this.process.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') return this.onProgress?.(message.done);
      if (message.type === 'error') this.failure ??= new Error(`${this.name}: ${message.message}`);
      else this.inbox.push(message);
      this.wake();
    });
    this.process.on('exit', (code, signal) => {
      this.exited = true;
      this.failure ??= code === 0 ? undefined : new Error(`${this.name} exited (${signal ?? code})`);
      this.wake();
    });
  }

  get name(): string {
    return `${this.config.client} ${this.config.role}`;
  }

  send(message: ParentMessage): void {
    this.process.send(message);
  }

  /** The next message of this type (kept if it came earlier); rejects on the child's error, exit or timeout. */
  next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<MessageOf<T>> {
    return new Promise((resolvePromise, reject) => {
      const check = () => {
        const index = this.inbox.findIndex((m) => m.type === type);
        if (index >= 0) {
          done();
          resolvePromise(this.inbox.splice(index, 1)[0] as MessageOf<T>);
        } else if (this.failure) {
          done();
          reject(this.failure);
        } else if (this.exited) {
          done();
          reject(new Error(`${this.name} exited before "${type}"`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no "${type}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Asks the child to close its connection and exit; kills it after 10 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolvePromise) => this.process.once('exit', () => resolvePromise()));
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolvePromise) => this.process.once('exit', () => resolvePromise()));
    this.process.kill('SIGKILL');
    await exited;
  }

  tail(): string {
    return this.output.trim() ? `--- ${this.name} output ---\n${this.output.trim().slice(-4000)}` : '';
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
