/**
 * Messaging benchmark: raw amqplib, this project's library, @nestjs/microservices (RMQ transport) and
 * @golevelup/nestjs-rabbitmq, side by side on one broker, in separate publisher and consumer
 * processes, interleaved round by round, on classic and quorum queues. Reports throughput, client CPU
 * per message and latency at a paced rate, each against raw amqplib, and checks the library's targets.
 *
 *   npm run bench:messaging -- [--messages 100000] [--rounds 3] [--latency-seconds 10] [--rate 1000]
 *                              [--queues classic,quorum] [--clients raw,library,nest,golevelup]
 *                              [--prefetch 100] [--window 1000] [--warmup 2000] [--out reports]
 *                              [--cpu-prof library,raw] [--verbose]
 *
 * A quick run: `npm run bench:messaging -- --messages 20000 --rounds 1 --latency-seconds 3 --queues quorum`.
 * RABBITMQ_URL: amqp://guest:guest@127.0.0.1:5672 by default; vhosts are made and deleted with
 * rabbitmqctl (or the management API when RABBITMQ_MANAGEMENT_URL is set), as for the tests.
 * Writes <out>/bench-messaging.json, .md and .svg.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo, progressBar, writeReport } from '@shop/testing';
import { CLIENTS, QUEUE_TYPES, type ClientName, type QueueType } from './messaging-bench/protocol';
import { chart, clientVersions, consoleTable, markdown, resultRows, targetLines } from './messaging-bench/report';
import { pendingCleanups, runOnce, type PlannedRun, type RunRecord, type RunSettings } from './messaging-bench/run';
import { evaluateTargets, summarizeRuns } from './messaging-bench/summary';

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
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'npm run bench:messaging -- [--messages N] [--rounds R] [--latency-seconds S (0: none)] [--rate msg/s]\n' +
        '  [--queues classic,quorum] [--clients raw,library,nest,golevelup] [--prefetch N] [--window N]\n' +
        '  [--warmup N] [--out dir] [--cpu-prof clients (V8 profiles of their children, into <out>/cpu-profiles)] [--verbose]',
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
  };
}

function plan(rounds: number, queueTypes: QueueType[], clients: ClientName[], latency: boolean): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const queueType of queueTypes) {
      for (const client of clients) runs.push({ index: runs.length + 1, round, queueType, client, kind: 'throughput' });
      if (latency)
        for (const client of clients) runs.push({ index: runs.length + 1, round, queueType, client, kind: 'latency' });
    }
  }
  return runs;
}

async function main(): Promise<void> {
  const settings = options();
  const { rounds, queueTypes, clients } = settings;
  if (settings.cpuProfClients.length) mkdirSync(settings.cpuProfDir, { recursive: true });
  const runSettings: RunSettings = settings;
  const machine = await machineInfo({ rabbitmqUrl: settings.brokerUrl });
  const versions = clientVersions();
  const planned = plan(rounds, queueTypes, clients, settings.latencySeconds > 0);
  const width = String(planned.length).length;
  console.log(
    `messaging benchmark: ${clients.join(', ')} on ${queueTypes.join(' and ')} queues, ${rounds} round(s), ` +
      `${settings.messages.toLocaleString('en-US')} messages per throughput run` +
      (settings.latencySeconds > 0
        ? `, ${settings.latencySeconds} s at ${settings.rate.toLocaleString('en-US')} msg/s per latency run`
        : '') +
      `\n${machine.cpu}, Node ${machine.node}, RabbitMQ ${machine.rabbitmq ?? '?'}`,
  );

  const tty = process.stdout.isTTY;
  const runs: RunRecord[] = [];
  for (const run of planned) {
    const label =
      `[${String(run.index).padStart(width)}/${planned.length}] ${run.queueType.padEnd(7)} ` +
      `${run.client.padEnd(9)} round ${run.round} ${run.kind.padEnd(10)}`;
    if (tty) process.stdout.write(`${label} ...`);
    const record = await runOnce(run, runSettings, (done, total) => {
      if (tty) process.stdout.write(`\r${label} ${progressBar(done, total)}`);
    });
    runs.push(record);
    const result = !record.ok
      ? `FAILED: ${record.error?.split('\n')[0]}`
      : run.kind === 'throughput'
        ? `${Math.round(record.e2eRate ?? 0).toLocaleString('en-US')} msg/s, ` +
          `CPU ${record.publisherCpuUsPerMsg?.toFixed(1)} + ${record.consumerCpuUsPerMsg?.toFixed(1)} µs/msg`
        : `p50 ${record.latency?.p50.toFixed(2)} ms, p99 ${record.latency?.p99.toFixed(2)} ms` +
          (record.maxLagMs !== undefined && record.maxLagMs > 5
            ? ` (publisher lagged up to ${record.maxLagMs.toFixed(0)} ms)`
            : '');
    if (tty) process.stdout.write(`\r\x1b[K`);
    console.log(`${label} ... ${result}`);
    if (!record.ok && settings.verbose) console.log(record.error);
  }

  const summaries = summarizeRuns(runs, queueTypes, clients);
  const targets = evaluateTargets(summaries, queueTypes);
  const { header, rows, align } = resultRows(summaries);
  console.log(`\n${consoleTable(header, rows, align)}\n`);
  for (const line of targetLines(targets)) console.log(line);

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
      runs,
    },
    markdown: markdown({
      machine,
      versions,
      settings: runSettings as RunSettings & { rounds: number; queueTypes: QueueType[]; clients: ClientName[] },
      runs,
      summaries,
      targets,
      name: NAME,
    }),
    svg: chart(summaries, queueTypes, clients),
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
