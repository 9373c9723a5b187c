/**
 * Messaging benchmark: raw amqplib, raw amqplib doing only the steps the library's targets require
 * (`steps`: the floor under its CPU), this project's library, @nestjs/microservices (RMQ transport) and
 * @golevelup/nestjs-rabbitmq, side by side on one broker, in separate publisher and consumer
 * processes, interleaved round by round, on classic and quorum queues. Reports throughput, client CPU
 * per message and latency at a paced rate, each against raw amqplib, and checks the library's targets.
 *
 *   npm run bench:messaging -- [--messages 100000] [--rounds 3] [--latency-seconds 10] [--rate 1000]
 *                              [--queues classic,quorum] [--clients raw,steps,library,nest,golevelup]
 *                              [--prefetch 100] [--window 1000] [--warmup 2000] [--out reports]
 *                              [--cpu-prof library,raw] [--verbose]
 *                              [--large-event 65536] [--large-messages 5000] [--large-encodings off,gzip,br]
 *                              [--large-only]
 *   npm run bench:messaging -- --compare before=a.json,b.json --compare after=c.json,d.json
 *                              [--compare-name bench-messaging-compare] [--out reports]
 *
 * A quick run: `npm run bench:messaging -- --messages 20000 --rounds 1 --latency-seconds 3 --queues quorum`.
 * Large events: each round also runs the library with events of `--large-event` bytes of JSON (0: none),
 * compression off, gzip and brotli (`--large-encodings`), and reports bytes on the wire and msg/s;
 * `--large-only` runs nothing else: `npm run bench:messaging -- --large-only --large-messages 2000 --rounds 1`.
 * RABBITMQ_URL: amqp://guest:guest@127.0.0.1:5672 by default; vhosts are made and deleted with
 * rabbitmqctl (or the management API when RABBITMQ_MANAGEMENT_URL is set), as for the tests.
 * Writes <out>/bench-messaging.json, .md and .svg.
 * `--compare` runs nothing: it reads the reports of runs of two builds made alternately in one session
 * (each side's `bench-messaging.json` files) and writes <out>/<compare-name>.json, .md and .svg: the
 * library's ratios to raw amqplib per queue type, medians and ranges of each side, with the targets.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo, progressBar, stackSvgs, writeReport } from '@shop/testing';
import {
  CLIENTS,
  LARGE_ENCODINGS,
  QUEUE_TYPES,
  type ClientName,
  type LargeEncoding,
  type QueueType,
} from './messaging-bench/protocol';
import {
  chart,
  clientVersions,
  consoleTable,
  floorConsole,
  LARGE_LABELS,
  largeCharts,
  largeRows,
  markdown,
  resultRows,
  targetLines,
} from './messaging-bench/report';
import { pendingCleanups, runOnce, type PlannedRun, type RunRecord, type RunSettings } from './messaging-bench/run';
import { parseMessagingCompareSides, renderMessagingComparison } from './messaging-bench/compare';
import { timeLibrarySteps } from './messaging-bench/steps';
import { evaluateTargets, summarizeLarge, summarizeRuns } from './messaging-bench/summary';

const NAME = 'bench-messaging';

function options() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '3' },
      'latency-seconds': { type: 'string', default: '10' },
      rate: { type: 'string', default: '1000' },
      queues: { type: 'string', default: QUEUE_TYPES.join(',') },
      clients: { type: 'string', default: CLIENTS.join(',') },
      prefetch: { type: 'string', default: '100' },
      window: { type: 'string', default: '1000' },
      warmup: { type: 'string', default: '2000' },
      out: { type: 'string', default: 'reports' },
      'cpu-prof': { type: 'string', default: '' },
      'large-event': { type: 'string', default: '65536' },
      'large-messages': { type: 'string', default: '5000' },
      'large-encodings': { type: 'string', default: LARGE_ENCODINGS.join(',') },
      'large-only': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      compare: { type: 'string', multiple: true },
      'compare-name': { type: 'string', default: 'bench-messaging-compare' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'npm run bench:messaging -- [--messages N] [--rounds R] [--latency-seconds S (0: none)] [--rate msg/s]\n' +
        '  [--queues classic,quorum] [--clients raw,steps,library,nest,golevelup] [--prefetch N] [--window N]\n' +
        '  [--warmup N] [--out dir] [--cpu-prof clients (V8 profiles of their children, into <out>/cpu-profiles)] [--verbose]\n' +
        '  [--large-event bytes (0: no large-event runs)] [--large-messages N] [--large-encodings off,gzip,br] [--large-only]\n' +
        'npm run bench:messaging -- --compare before=a.json,b.json --compare after=c.json,d.json [--compare-name NAME] [--out dir]',
    );
    process.exit(0);
  }
  const int = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got "${value}")`);
    return n;
  };
  const list = <T extends string>(name: string, value: string, allowed: readonly T[]): T[] => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = items.filter((item) => !allowed.includes(item as T));
    if (bad.length || items.length === 0)
      throw new Error(`--${name}: one or more of ${allowed.join(', ')} (got "${value}")`);
    // Raw amqplib is the yardstick: always measured, first in each round.
    return allowed.filter((a) => items.includes(a));
  };
  const clients = list('clients', values.clients, CLIENTS);
  const out = resolve(values.out);
  const largeEventBytes = int('large-event', values['large-event'], 0);
  if (values['large-only'] && largeEventBytes === 0) throw new Error('--large-only needs --large-event > 0');
  return {
    brokerUrl: process.env['RABBITMQ_URL'] || 'amqp://guest:guest@127.0.0.1:5672',
    messages: int('messages', values.messages, 1),
    rounds: int('rounds', values.rounds, 1),
    latencySeconds: int('latency-seconds', values['latency-seconds'], 0),
    rate: int('rate', values.rate, 1),
    queueTypes: list('queues', values.queues, QUEUE_TYPES),
    clients: clients.includes('raw') ? clients : (['raw', ...clients] as ClientName[]),
    prefetch: int('prefetch', values.prefetch, 1),
    window: int('window', values.window, 1),
    warmup: int('warmup', values.warmup, 0),
    out,
    cpuProfClients: values['cpu-prof'] ? list('cpu-prof', values['cpu-prof'], CLIENTS) : [],
    cpuProfDir: join(out, 'cpu-profiles'),
    verbose: values.verbose,
    largeEventBytes,
    largeMessages: int('large-messages', values['large-messages'], 1),
    largeEncodings: list('large-encodings', values['large-encodings'], LARGE_ENCODINGS),
    largeOnly: values['large-only'],
    compare: values.compare ?? [],
    compareName: values['compare-name'],
    args: process.argv.slice(2),
  };
}

function plan(
  rounds: number,
  queueTypes: QueueType[],
  clients: ClientName[],
  latency: boolean,
  /** The large-event runs of each round and queue type (the library, throughput). */
  large: LargeEncoding[],
): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const queueType of queueTypes) {
      for (const client of clients) runs.push({ index: runs.length + 1, round, queueType, client, kind: 'throughput' });
      if (latency)
        for (const client of clients) runs.push({ index: runs.length + 1, round, queueType, client, kind: 'latency' });
      for (const encoding of large) {
        runs.push({ index: runs.length + 1, round, queueType, client: 'library', kind: 'throughput', large: encoding });
      }
    }
  }
  return runs;
}

async function main(): Promise<void> {
  const settings = options();
  if (settings.compare.length > 0) {
    // Reports of runs made already, alternated between two builds: no run here.
    const sides = parseMessagingCompareSides(settings.compare);
    const { table, files } = await renderMessagingComparison(sides, settings.out, settings.compareName);
    console.log(`${table}\n\nreport: ${files.join(', ')}`);
    return;
  }
  const { rounds, queueTypes, clients } = settings;
  if (settings.cpuProfClients.length) mkdirSync(settings.cpuProfDir, { recursive: true });
  const runSettings: RunSettings = settings;
  const machine = await machineInfo({ rabbitmqUrl: settings.brokerUrl });
  const versions = clientVersions();
  const large = settings.largeEventBytes > 0 ? settings.largeEncodings : [];
  const planned = plan(
    rounds,
    queueTypes,
    settings.largeOnly ? [] : clients,
    !settings.largeOnly && settings.latencySeconds > 0,
    large,
  );
  const width = String(planned.length).length;
  console.log(
    `messaging benchmark: ${settings.largeOnly ? '' : `${clients.join(', ')} `}on ${queueTypes.join(' and ')} queues, ` +
      `${rounds} round(s)` +
      (settings.largeOnly ? '' : `, ${settings.messages.toLocaleString('en-US')} messages per throughput run`) +
      (!settings.largeOnly && settings.latencySeconds > 0
        ? `, ${settings.latencySeconds} s at ${settings.rate.toLocaleString('en-US')} msg/s per latency run`
        : '') +
      (large.length
        ? `; large events of ${settings.largeEventBytes.toLocaleString('en-US')} B (library, ` +
          `${large.map((encoding) => LARGE_LABELS[encoding]).join(', ')}), ` +
          `${settings.largeMessages.toLocaleString('en-US')} messages per run`
        : '') +
      `\n${machine.cpu}, Node ${machine.node}, RabbitMQ ${machine.rabbitmq ?? '?'}`,
  );

  // Before the runs, on a quiet machine: what the library cannot do without (the floor of its CPU).
  const steps = settings.largeOnly ? [] : timeLibrarySteps();
  for (const { side, step, cpuUs } of steps) console.log(`  required, ${side}: ${step}: ${cpuUs.toFixed(2)} µs/msg`);

  const tty = process.stdout.isTTY;
  const runs: RunRecord[] = [];
  for (const run of planned) {
    const label =
      `[${String(run.index).padStart(width)}/${planned.length}] ${run.queueType.padEnd(7)} ` +
      `${run.client.padEnd(9)} round ${run.round} ${(run.large ? `large ${run.large}` : run.kind).padEnd(10)}`;
    if (tty) process.stdout.write(`${label} ...`);
    const record = await runOnce(run, runSettings, (done, total) => {
      if (tty) process.stdout.write(`\r${label} ${progressBar(done, total)}`);
    });
    runs.push(record);
    const result = !record.ok
      ? `FAILED: ${record.error?.split('\n')[0]}`
      : run.kind === 'throughput'
        ? `${Math.round(record.e2eRate ?? 0).toLocaleString('en-US')} msg/s, ` +
          `CPU ${record.publisherCpuUsPerMsg?.toFixed(1)} + ${record.consumerCpuUsPerMsg?.toFixed(1)} µs/msg` +
          (record.wireBytesPerMsg !== undefined
            ? `, ${Math.round(record.wireBytesPerMsg).toLocaleString('en-US')} B/msg on the wire`
            : '')
        : `p50 ${record.latency?.p50.toFixed(2)} ms, p99 ${record.latency?.p99.toFixed(2)} ms` +
          (record.maxLagMs !== undefined && record.maxLagMs > 5
            ? ` (publisher lagged up to ${record.maxLagMs.toFixed(0)} ms)`
            : '');
    if (tty) process.stdout.write(`\r\x1b[K`);
    console.log(`${label} ... ${result}`);
    if (!record.ok && settings.verbose) console.log(record.error);
  }

  const summaries = settings.largeOnly ? [] : summarizeRuns(runs, queueTypes, clients);
  const targets = settings.largeOnly ? [] : evaluateTargets(summaries, queueTypes);
  const largeSummaries = summarizeLarge(runs, queueTypes, large);
  if (!settings.largeOnly) {
    const { header, rows, align } = resultRows(summaries);
    console.log(`\n${consoleTable(header, rows, align)}\n`);
    for (const line of targetLines(targets)) console.log(line);
    console.log(`\nthe floor: raw plus the steps the targets require, timed alone\n${floorConsole(steps, summaries)}`);
  }
  if (largeSummaries.length) {
    const { header, rows, align } = largeRows(largeSummaries);
    console.log(
      `\nLarge events (${settings.largeEventBytes.toLocaleString('en-US')} B of JSON):\n${consoleTable(header, rows, align)}`,
    );
  }
  const moreCharts = largeSummaries.length ? largeCharts(largeSummaries, queueTypes, large) : [];

  const paths = await writeReport({
    dir: settings.out,
    name: NAME,
    json: {
      benchmark: NAME,
      machine,
      versions,
      options: { ...settings, brokerUrl: settings.brokerUrl.replace(/\/\/[^@]*@/, '//') },
      summaries,
      targets,
      largeSummaries,
      steps,
      runs,
    },
    markdown: markdown({
      machine,
      versions,
      settings: runSettings as RunSettings & { rounds: number; queueTypes: QueueType[]; clients: ClientName[] },
      runs,
      summaries,
      targets,
      large: largeSummaries,
      steps,
      name: NAME,
    }),
    svg: settings.largeOnly ? stackSvgs(moreCharts, { columns: 2 }) : chart(summaries, queueTypes, clients, moreCharts),
  });
  console.log(`\nreport: ${paths.join(', ')}`);
  if (runs.some((r) => !r.ok)) process.exitCode = 1;
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.log('\ninterrupted: stopping the children and deleting the run vhost...');
  void Promise.allSettled([...pendingCleanups].map((cleanup) => cleanup())).then(() => process.exit(130));
});

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
