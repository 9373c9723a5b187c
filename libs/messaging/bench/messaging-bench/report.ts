import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { barChart, describeMachine, markdownTable, PALETTE, stackSvgs, type MachineInfo } from '@shop/testing';
import { CLIENTS, LARGE_ENCODINGS, type ClientName, type LargeEncoding, type QueueType } from './protocol';
import type { RunRecord, RunSettings } from './run';
import type { ClientSummary, LargeSummary, Stat, TargetResult } from './summary';
import { TARGETS } from './summary';
import { stepsTotal, type StepTiming } from './steps';

export const CLIENT_LABELS: Record<ClientName, string> = {
  raw: 'raw amqplib',
  steps: 'raw + required steps',
  library: '@shop/messaging',
  nest: '@nestjs/microservices',
  golevelup: '@golevelup/nestjs-rabbitmq',
};

/** One colour per client in every chart. */
const color = (client: ClientName) => PALETTE[CLIENTS.indexOf(client) % PALETTE.length];

/** Versions of what each client runs on, read from the installed packages. */
export function clientVersions(): Record<string, string> {
  const version = (name: string, from?: string) => {
    try {
      const entry = require.resolve(name, from ? { paths: [from] } : undefined);
      let dir = dirname(entry);
      for (;;) {
        try {
          const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
            name?: string;
            version?: string;
          };
          if (pkg.name === name && pkg.version) return pkg.version;
        } catch {
          // not this directory
        }
        const up = dirname(dir);
        if (up === dir) return 'unknown';
        dir = up;
      }
    } catch {
      return 'not installed';
    }
  };
  const acm = dirname(require.resolve('amqp-connection-manager'));
  const golevelup = dirname(require.resolve('@golevelup/nestjs-rabbitmq'));
  const amqplib = version('amqplib');
  // Nest and golevelup run on amqp-connection-manager, which loads the amqplib it resolves: the root one.
  // golevelup's own nested amqplib (its typings) is not loaded at run time.
  const managed = `amqp-connection-manager ${version('amqp-connection-manager')}, amqplib ${version('amqplib', acm)}`;
  return {
    raw: `amqplib ${amqplib}`,
    steps: `amqplib ${amqplib}, with @shop/contracts' zod validation and @shop/messaging's outbox row and metrics`,
    library: `@shop/messaging (this repository) on amqplib ${amqplib}, zod ${version('zod')}`,
    nest: `@nestjs/microservices ${version('@nestjs/microservices')} (@nestjs/core ${version('@nestjs/core')}) on ${managed}`,
    golevelup:
      `@golevelup/nestjs-rabbitmq ${version('@golevelup/nestjs-rabbitmq')} on ${managed}` +
      ` (its nested amqplib ${version('amqplib', golevelup)} is not loaded)`,
  };
}

const fmt = {
  int: (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–'),
  x: (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '–'),
  us: (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–'),
  ms: (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–'),
  dms: (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : '–'),
  mb: (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–'),
};

function range(stat: Stat, f: (v: number) => string): string {
  if (stat.n === 0) return '–';
  if (stat.n === 1) return f(stat.median);
  return `${f(stat.median)} (${f(stat.min)}–${f(stat.max)})`;
}

export function resultRows(summaries: ClientSummary[]): {
  header: string[];
  rows: string[][];
  align: Array<'l' | 'r'>;
} {
  const header = [
    'queue',
    'client',
    'msg/s (min–max)',
    'vs raw',
    'pub µs/msg',
    'vs raw',
    'cons µs/msg',
    'vs raw',
    'p50 ms',
    'p99 ms',
    'p99 vs raw ms',
  ];
  const rows = summaries.map((s) => [
    s.queueType,
    s.client + (s.failedRuns ? ` (${s.failedRuns} failed)` : ''),
    range(s.throughput, fmt.int),
    s.client === 'raw' ? '' : fmt.x(s.throughputRatio.median),
    range(s.publisherCpuUsPerMsg, fmt.us),
    s.client === 'raw' ? '' : fmt.x(s.publisherCpuRatio.median),
    range(s.consumerCpuUsPerMsg, fmt.us),
    s.client === 'raw' ? '' : fmt.x(s.consumerCpuRatio.median),
    range(s.latencyP50, fmt.ms),
    range(s.latencyP99, fmt.ms),
    s.client === 'raw' ? '' : fmt.dms(s.latencyP99DiffMs.median),
  ]);
  return { header, rows, align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'] };
}

export const LARGE_LABELS: Record<LargeEncoding, string> = {
  off: 'no compression',
  gzip: 'gzip',
  br: 'brotli',
};

/** The large-event table: per queue type and compression, bytes on the wire and what they cost. */
export function largeRows(summaries: LargeSummary[]): {
  header: string[];
  rows: string[][];
  align: Array<'l' | 'r'>;
} {
  const header = [
    'queue',
    'compression',
    'event B',
    'on the wire B/msg',
    'wire MB/s',
    'msg/s (min–max)',
    'vs none',
    'pub µs/msg',
    'cons µs/msg',
  ];
  const rows = summaries.map((s) => [
    s.queueType,
    LARGE_LABELS[s.compression] + (s.failedRuns ? ` (${s.failedRuns} failed)` : ''),
    s.bodyBytes === undefined ? '–' : fmt.int(s.bodyBytes),
    s.wireBytes.n
      ? `${fmt.int(s.wireBytes.median)}${s.bodyBytes ? ` (${Math.round((100 * s.wireBytes.median) / s.bodyBytes)}%)` : ''}`
      : '–',
    fmt.mb((s.wireBytes.median * s.throughput.median) / 1e6),
    range(s.throughput, fmt.int),
    s.compression === 'off' ? '' : fmt.x(s.throughputRatio.median),
    range(s.publisherCpuUsPerMsg, fmt.us),
    range(s.consumerCpuUsPerMsg, fmt.us),
  ]);
  return { header, rows, align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'] };
}

/** Throughput and bytes on the wire of the large-event runs, per queue type and compression. */
export function largeCharts(summaries: LargeSummary[], queueTypes: QueueType[], encodings: LargeEncoding[]): string[] {
  const of = (compression: LargeEncoding, queueType: QueueType) =>
    summaries.find((s) => s.compression === compression && s.queueType === queueType) as LargeSummary;
  const bytes = summaries.find((s) => s.bodyBytes !== undefined)?.bodyBytes;
  const series = (pick: (s: LargeSummary) => Stat) =>
    encodings.map((compression) => ({
      name: `@shop/messaging, ${LARGE_LABELS[compression]}`,
      color: PALETTE[(LARGE_ENCODINGS.indexOf(compression) + 1) % PALETTE.length],
      values: queueTypes.map((q) => pick(of(compression, q)).median),
      low: queueTypes.map((q) => pick(of(compression, q)).min),
      high: queueTypes.map((q) => pick(of(compression, q)).max),
    }));
  const title = bytes ? `${Math.round(bytes / 1024)} KiB events` : 'Large events';
  return [
    barChart({
      title: `${title}: end-to-end throughput`,
      yLabel: 'messages / s',
      groups: [...queueTypes],
      series: series((s) => s.throughput),
    }),
    barChart({
      title: `${title}: bytes on the wire per message`,
      yLabel: 'bytes',
      groups: [...queueTypes],
      series: series((s) => s.wireBytes),
    }),
  ];
}

export function targetLines(targets: TargetResult[]): string[] {
  return targets.map((t) => {
    const verdict = t.pass === undefined ? 'n/a ' : t.pass ? 'PASS' : 'FAIL';
    const value = !Number.isFinite(t.value)
      ? 'not measured'
      : t.target.startsWith('p99')
        ? `${fmt.dms(t.value)} ms`
        : fmt.x(t.value);
    return `${verdict}  ${t.queueType.padEnd(7)} library ${t.target}: ${value} (target ${t.limit})`;
  });
}

/** A plain-text table for the console. */
export function consoleTable(header: string[], rows: string[][], align: Array<'l' | 'r'>): string {
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const fill = ' '.repeat((widths[i] as number) - [...c].length);
        return align[i] === 'r' ? fill + c : c + fill;
      })
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function chart(
  summaries: ClientSummary[],
  queueTypes: QueueType[],
  clients: ClientName[],
  /** More charts after these (the large-event runs'). */
  more: string[] = [],
): string {
  const of = (client: ClientName, queueType: QueueType) =>
    summaries.find((s) => s.client === client && s.queueType === queueType) as ClientSummary;
  const bars = (pick: (s: ClientSummary) => Stat, list = clients) =>
    list.map((client) => ({
      name: CLIENT_LABELS[client],
      color: color(client),
      values: queueTypes.map((q) => pick(of(client, q)).median),
      low: queueTypes.map((q) => pick(of(client, q)).min),
      high: queueTypes.map((q) => pick(of(client, q)).max),
    }));
  const others = clients.filter((c) => c !== 'raw');
  const cpuGroups = queueTypes.flatMap((q) => [`${q} pub`, `${q} cons`]);
  const svgs = [
    barChart({
      title: 'End-to-end throughput (first publish to last ack)',
      yLabel: 'messages / s',
      groups: [...queueTypes],
      series: bars((s) => s.throughput),
    }),
    barChart({
      title: 'Throughput relative to raw amqplib, same round',
      yLabel: 'x raw',
      groups: [...queueTypes],
      series: bars((s) => s.throughputRatio, others),
      referenceLines: [{ y: TARGETS.throughputRatio, label: `target ${TARGETS.throughputRatio}x` }],
    }),
    barChart({
      title: 'Client CPU per message (publisher, consumer)',
      yLabel: 'µs / message',
      groups: cpuGroups,
      series: clients.map((client) => {
        const stats = queueTypes.flatMap((q) => [
          of(client, q).publisherCpuUsPerMsg,
          of(client, q).consumerCpuUsPerMsg,
        ]);
        return {
          name: CLIENT_LABELS[client],
          color: color(client),
          values: stats.map((s) => s.median),
          low: stats.map((s) => s.min),
          high: stats.map((s) => s.max),
        };
      }),
    }),
    barChart({
      title: 'p99 latency at a paced 1,000 msg/s',
      yLabel: 'ms',
      groups: [...queueTypes],
      series: bars((s) => s.latencyP99),
    }),
  ];
  return stackSvgs([...svgs, ...more], { columns: 2 });
}

export interface ReportInput {
  machine: MachineInfo;
  versions: Record<string, string>;
  settings: RunSettings & {
    rounds: number;
    queueTypes: QueueType[];
    clients: ClientName[];
    /** The command line's arguments, for the report to say how it was run. */
    args?: readonly string[];
  };
  runs: RunRecord[];
  summaries: ClientSummary[];
  targets: TargetResult[];
  /** The large-event runs, when there were any. */
  large: LargeSummary[];
  /** The required per-message steps, timed alone (none with --large-only). */
  steps: StepTiming[];
  name: string;
}

/**
 * Per queue type: raw's CPU per message, the least the library can add (its required steps, timed
 * alone), and so the best ratio the library could reach; the same steps measured in the runs (the
 * `steps` client: raw amqplib doing them, in the same rounds), against the library's measured ratio
 * and the target.
 */
export function floorRows(steps: StepTiming[], summaries: ClientSummary[]): string[][] {
  const rows: string[][] = [];
  const ratio = (value: number | undefined) =>
    value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}x`;
  for (const side of ['publisher', 'consumer'] as const) {
    const added = stepsTotal(steps, side);
    const cpuRatio = (s: ClientSummary | undefined) =>
      s && (side === 'publisher' ? s.publisherCpuRatio : s.consumerCpuRatio).median;
    for (const raw of summaries.filter((s) => s.client === 'raw')) {
      const of = (client: ClientName) => summaries.find((s) => s.client === client && s.queueType === raw.queueType);
      const rawCpu = (side === 'publisher' ? raw.publisherCpuUsPerMsg : raw.consumerCpuUsPerMsg).median;
      rows.push([
        raw.queueType,
        side,
        rawCpu.toFixed(1),
        added.toFixed(1),
        `${((rawCpu + added) / rawCpu).toFixed(2)}x`,
        ratio(cpuRatio(of('steps'))),
        ratio(cpuRatio(of('library'))),
        `<= ${TARGETS.cpuRatio}x`,
      ]);
    }
  }
  return rows;
}

const FLOOR_HEADER = [
  'queue',
  'side',
  'raw µs/msg',
  'required steps µs',
  'best possible',
  'raw + steps measured',
  'library measured',
  'target',
];
const FLOOR_ALIGN = ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'] as const;

/** The floor, for the console. */
export function floorConsole(steps: StepTiming[], summaries: ClientSummary[]): string {
  return consoleTable(FLOOR_HEADER, floorRows(steps, summaries), [...FLOOR_ALIGN]);
}

function floorSection(input: ReportInput): string[] {
  const { steps, summaries } = input;
  if (steps.length === 0) return [];
  return [
    '## The floor under the CPU targets',
    '',
    'What "validation, the outbox row and tracing on" requires of every message, each step timed alone in the orchestrator process before the runs (the same event and code as the library client; CPU per call, the median of 5 × 100,000 calls). Raw amqplib does none of them, so raw\'s CPU per message plus their sum is the least the library can cost, before any promise, metric label or Nest pipeline of its own. Timed alone they run with warm caches and nothing between the calls; "raw + steps measured" is the same steps done per message by raw amqplib in the runs (the `steps` client, same rounds), what they cost among the I/O:',
    '',
    markdownTable(
      ['side', 'step', 'µs per message'],
      [
        ...steps.map((t) => [t.side, t.step, t.cpuUs.toFixed(2)]),
        ['publisher', '**sum**', stepsTotal(steps, 'publisher').toFixed(2)],
        ['consumer', '**sum**', stepsTotal(steps, 'consumer').toFixed(2)],
      ],
      ['l', 'l', 'r'],
    ),
    '',
    markdownTable(FLOOR_HEADER, floorRows(steps, summaries), [...FLOOR_ALIGN]),
    '',
  ];
}

/** The report's section on the large-event runs (none when there were none). */
function largeSection(input: ReportInput): string[] {
  const { settings, large } = input;
  if (large.length === 0) return [];
  const { header, rows, align } = largeRows(large);
  const kib = Math.round(settings.largeEventBytes / 1024);
  return [
    `## Large events (${kib} KiB of JSON): compression off and on`,
    '',
    `The library alone, publishing a test event of about ${settings.largeEventBytes.toLocaleString('en-US')} bytes of realistic JSON (an order of many lines: product names, skus, prices, attributes, warehouse and notes; it compresses as such JSON does, 4–5 times) through the relay's \`publishRow\` with compression off, gzip (level 4) or brotli (quality 4), bodies over the default 8 KiB compressed; its consumer decompresses it (on the event loop: 64 KiB of this JSON is ~15 KB compressed, and bodies up to 16 KiB are; larger ones off it), parses, validates and handles it as above. ${settings.largeMessages.toLocaleString('en-US')} messages per run (${Math.min(settings.warmup, 500)} warm-up), throughput runs only, the same confirm window and prefetch. Medians over ${settings.rounds} round(s), min–max in brackets; "vs none" is the per-round ratio to the run without compression on the same queue type. "On the wire" is the body as published (what the broker stores and sends), from the relay's \`messaging_compression_saved_bytes_total\`; "wire MB/s" is that times the median msg/s.`,
    '',
    markdownTable(header, rows, align),
    '',
  ];
}

export function markdown(input: ReportInput): string {
  const { machine, versions, settings, summaries, targets, runs } = input;
  const failed = runs.filter((r) => !r.ok);
  const failures = failed.length
    ? [
        '## Failed runs',
        '',
        ...failed.map(
          (r) =>
            `- run ${r.index} (${r.queueType} ${r.client}${r.large ? ` large ${r.large}` : ''} ${r.kind}, round ${r.round}): ${r.error?.split('\n')[0]}`,
        ),
        '',
      ]
    : [];
  if (!runs.some((run) => !run.large)) {
    // --large-only
    return [
      '# Messaging benchmark: large events, @shop/messaging with and without compression',
      '',
      `Run on ${machine.date} (\`npm run bench:messaging -- --large-only\`).`,
      '',
      `**Machine:** ${describeMachine(machine)}.`,
      '',
      `**Versions:** ${versions['library']}.`,
      '',
      ...largeSection(input),
      `![throughput and bytes on the wire per compression and queue type](${input.name}.svg)`,
      '',
      `One broker (${settings.brokerUrl.replace(/\/\/[^@]*@/, '//')}); every run in a vhost of its own, a publisher and a consumer process as in the full benchmark (\`npm run bench:messaging\`, whose report describes the method).`,
      '',
      ...failures,
      `Every run, with its raw figures, is in [${input.name}.json](${input.name}.json).`,
      '',
    ].join('\n');
  }
  const { header, rows, align } = resultRows(summaries);
  const sizes = settings.clients
    .map((client) => {
      const s = summaries.find((x) => x.client === client && x.bodyBytes !== undefined);
      return `${client} ${s?.bodyBytes ?? '?'} B`;
    })
    .join(', ');
  return [
    `# Messaging benchmark: ${settings.clients.map((client) => CLIENT_LABELS[client]).join(', ')}`,
    '',
    `Run on ${machine.date} (\`npm run bench:messaging${settings.args?.length ? ` -- ${settings.args.join(' ')}` : ''}\`).`,
    '',
    `**Machine:** ${describeMachine(machine)}.`,
    '',
    '**Versions:**',
    '',
    ...settings.clients.map((client) => `- ${client}: ${versions[client]}`),
    '',
    '## Results',
    '',
    `Medians over ${settings.rounds} round(s), min–max in brackets; "vs raw" is the median of the per-round ratios (or differences) to raw amqplib in the same round.`,
    '',
    markdownTable(header, rows, align),
    '',
    '## Targets (@shop/messaging against raw amqplib)',
    '',
    ...targetLines(targets).map((line) => `- ${line.replace(/^(PASS|FAIL|n\/a) +/, '**$1** ')}`),
    '',
    `![throughput, ratio to raw, CPU per message and p99 latency per client and queue type](${input.name}.svg)`,
    '',
    ...floorSection(input),
    ...largeSection(input),
    '## Method',
    '',
    `- One broker (${settings.brokerUrl.replace(/\/\/[^@]*@/, '//')}); every run in a vhost of its own, deleted afterwards: a durable topic exchange \`orders\` and one durable queue of the run's type (classic or quorum) bound by \`order.placed\`, used the same way by all four clients. Every client connects with TCP_NODELAY, as the library does.`,
    `- Separate processes: for each run a consumer process, then (once the broker lists its consumer on the queue) a publisher process, driven by the orchestrator over IPC. ${settings.warmup.toLocaleString('en-US')} warm-up messages go through first and are not measured.`,
    `- Throughput runs: ${settings.messages.toLocaleString('en-US')} persistent messages, closed loop with at most ${settings.window} unconfirmed publishes; publisher confirms waited for; consumer prefetch ${settings.prefetch}, manual acks. The run ends when the consumer has handled and acked all of them; throughput = messages / (last ack − first publish), timed with \`performance.timeOrigin + performance.now()\` in each process.`,
    `- CPU: \`process.cpuUsage()\` (user + system) of each child from the start of the measured messages to its last confirm (publisher) or last ack (consumer), divided by the messages.`,
    settings.latencySeconds > 0
      ? `- Latency runs: ${Math.round(settings.rate * settings.latencySeconds).toLocaleString('en-US')} messages paced open loop at ${settings.rate.toLocaleString('en-US')} msg/s (${settings.latencySeconds} s), the same confirm window and prefetch; the send time, read just before each publish call, travels in an \`x-bench-sent-at\` header (the library: in the event's \`tracestate\`, which its handler reads from TraceContext); latency = handler time − send time, in the consumer.`
      : '- No latency runs (`--latency-seconds 0`).',
    `- Runs interleaved: each round runs every client on each queue type in turn (throughput, then latency), so that drift of the machine hits all clients alike. After each run the queue must be empty once the consumer has disconnected (every message acked) and the consumer must have seen exactly the measured messages.`,
    `- Message bodies: ${sizes}. The same \`order.placed\` CloudEvent (the smallest real one) for all; Nest wraps it in its \`{pattern, data}\` packet.`,
    '',
    '### What each client does',
    '',
    '- **raw amqplib**: confirm channel, `publish` with a confirm callback, `drain` respected; the pre-serialized event with the same properties and headers as the library (persistent, mandatory, messageId, type, appId, correlationId, content type and encoding, timestamp, traceparent). Consumer: `prefetch`, `consume` with `noAck: false`, `ack` in the callback, body not parsed.',
    "- **@shop/messaging**: per message `OrderPlaced.create` (zod validation), the outbox's \"create\" span and trace stamping (a child span of the publisher's trace), `serializeEvent` into the row's text, then the relay's `publishRow`: its \"publish\" span and metrics, the text as bytes with `relayProperties`, the library's `ConfirmPublisher` (persistent, mandatory, resolved on confirm, returns tracked). No database: the outbox table is skipped. No OpenTelemetry SDK: spans are the API's no-ops, as with tracing off. Consumer: a `@ConsumeEvent` handler (`@Payload()`, `@Ctx()`) of a Nest app, called through Nest's pipeline by the library's `EventTransport` and `QueueConsumer` (prefetch as above, concurrency = prefetch): parse envelope, validate, upcast, handler in `TraceContext`, ack after the handler; the handler only counts, so the consumer's Outbox is a stand-in without a database that is never called.",
    "- **@nestjs/microservices**: `ClientRMQ` (`ClientProxyFactory.create`) with `exchange: 'orders'`, `exchangeType: 'topic'`, `wildcards: true` (what makes `emit` publish to the exchange with the pattern as routing key) and `persistent: true`; `emit('order.placed', event)` completes on the broker's confirm (amqp-connection-manager's confirm channel). No `mandatory`: the transport does not handle returned messages. Consumer: a Nest RMQ microservice on the queue (`noAssert`, `routingKey`, `prefetchCount`, `noAck: false`), an `@EventPattern` handler that acks through `RmqContext`.",
    "- **@golevelup/nestjs-rabbitmq**: `AmqpConnection.publish('orders', 'order.placed', event, { persistent: true })`, whose promise settles on the broker's confirm (amqp-connection-manager's confirm channel); no `mandatory` handling. Consumer: `@RabbitSubscribe` on the queue (`createQueueIfNotExists: false`), module `prefetchCount`; golevelup acks after the handler returns (nack on error or a returned `Nack`).",
    '',
    '### Reading the figures',
    '',
    "- Raw amqplib is the limit for the library's wire message: the same body and properties, with nothing built per message. The library's publisher does, per event, what production does before the broker sees it: create and validate the event, stamp its trace context, serialize it to the outbox row's text and that text back to bytes. Nest and golevelup serialize a ready event object and set no properties beyond `persistent` (no message id, type, timestamp or headers for amqplib to encode), so their CPU per message can come out below raw's.",
    '- Raw and Nest/golevelup consumers do not parse the body beyond what the framework does (Nest and golevelup `JSON.parse` it); the library parses, validates and upcasts it and runs the handler in its trace context.',
    '- Throughput on a machine whose cores are shared by the broker and both clients is bound by CPU: every microsecond a client spends is taken from the broker. Run on a quiet machine; compare within a round (the ratios), not across runs.',
    '',
    ...failures,
    `Every run, with its raw figures, is in [${input.name}.json](${input.name}.json).`,
    '',
  ].join('\n');
}
