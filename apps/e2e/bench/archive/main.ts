/**
 * The event archive's benchmark: what it costs the broker per event, what it takes on disk, how fast
 * orders indexes and rebuilds from it, and how long GET /events takes for one order when the stream
 * holds 100,000 events (through orders' subject index, and, for comparison, by scanning the stream).
 *
 *   npm run bench:archive -- [--events 100000] [--lookups 200] [--scans 3] [--out reports]
 *
 * The four apps run as processes (startSystem) on a vhost of their own; the events are notification.sent
 * and inventory.released (no saga queue consumes them, so only the archive and its readers work),
 * five per order, published as their producers with confirms.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  InventoryReleased,
  NotificationSent,
  serializeEvent,
  type CloudEvent,
} from '@shop/contracts';
import { barChart, describeMachine, machineInfo, markdownTable, percentile, writeReport } from '@shop/testing';
import { connect, type ConfirmChannel } from 'amqplib';
import { ARCHIVE_STREAM, readArchive, startSystem, type System } from '../../src/support';
import { cpuMs, pidsNamed } from '../saga/cpu';

function options() {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      lookups: { type: 'string', default: '200' },
      scans: { type: 'string', default: '3' },
      out: { type: 'string', default: 'reports' },
    },
  });
  const int = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got "${value}")`);
    return n;
  };
  return {
    events: int('events', values.events, 1000),
    lookups: int('lookups', values.lookups, 1),
    scans: int('scans', values.scans, 0),
    out: values.out,
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

/** Five events of one order: three notifications and two releases. */
function eventsOf(orderId: string): CloudEvent[] {
  const lines = [{ sku: 'SKU-BENCH', quantity: 2 }];
  return [
    NotificationSent.create({ orderId, notificationId: randomUUID(), customerId: 'c-bench', kind: 'ORDER_CONFIRMED' }),
    InventoryReleased.create({ orderId, lines }),
    NotificationSent.create({ orderId, notificationId: randomUUID(), customerId: 'c-bench', kind: 'ORDER_CANCELLED' }),
    InventoryReleased.create({ orderId, lines }),
    NotificationSent.create({ orderId, notificationId: randomUUID(), customerId: 'c-bench', kind: 'PAYMENT_REFUNDED' }),
  ];
}

/** Publishes as each event's producer, 500 in flight, and answers the broker's CPU ms meanwhile. */
async function publish(
  channels: Record<'notifications' | 'inventory', ConfirmChannel>,
  users: Record<'notifications' | 'inventory', string>,
  events: CloudEvent[],
  progress: (done: number) => void,
): Promise<number> {
  const broker = pidsNamed('beam.smp');
  const cpu = () => broker.reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), 0);
  const before = cpu();
  for (let i = 0; i < events.length; i += 500) {
    for (const event of events.slice(i, i + 500)) {
      const producer = event.type === NotificationSent.type ? 'notifications' : 'inventory';
      channels[producer].publish(producer, event.type, serializeEvent(event), {
        persistent: true,
        contentType: CLOUDEVENTS_CONTENT_TYPE,
        messageId: event.id,
        type: event.type,
        appId: producer,
        userId: users[producer],
      });
    }
    await Promise.all([channels.notifications.waitForConfirms(), channels.inventory.waitForConfirms()]);
    progress(Math.min(i + 500, events.length));
  }
  return cpu() - before;
}

/** The stream's bytes on disk, when the broker's data directory is readable here (a local node). */
function streamBytes(vhost: string): number | undefined {
  const roots = ['/var/lib/rabbitmq/mnesia'];
  for (const root of roots) {
    try {
      for (const node of readdirSync(root)) {
        const dir = join(root, node, 'stream');
        for (const entry of readdirSync(dir)) {
          // the broker names the directory <vhost>_<queue>_<time>, each character but [A-Za-z0-9_-] as _
          if (!entry.startsWith(`${vhost}_${ARCHIVE_STREAM}_`.replace(/[^A-Za-z0-9_-]/g, '_'))) continue;
          return readdirSync(join(dir, entry)).reduce((sum, file) => sum + statSync(join(dir, entry, file)).size, 0);
        }
      }
    } catch {
      // not this layout, or not readable
    }
  }
  return undefined;
}

/** One order's events by reading the whole stream from its first offset, as an archive without an index would. */
async function scan(url: string, subject: string, total: number): Promise<{ ms: number; found: number }> {
  const started = performance.now();
  let seen = 0;
  let found = 0;
  await readArchive(url, (entry) => {
    if (entry.event.subject === subject) found++;
    return ++seen < total;
  });
  return { ms: performance.now() - started, found };
}

async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const opts = options();
  const orders = Math.ceil(opts.events / 5);
  const machine = await machineInfo({
    rabbitmqUrl: process.env['RABBITMQ_URL'],
    databaseUrl: process.env['DATABASE_URL'],
  });
  log(`archive benchmark: ${orders * 5} events (${orders} orders x 5), ${opts.lookups} lookups, ${opts.scans} scans`);
  log(describeMachine(machine));

  const system: System = await startSystem({ label: 'bench-archive' });
  try {
    const client = system.client;
    const connections = await Promise.all(
      (['notifications', 'inventory'] as const).map((app) => connect(system.brokerUrlOf(app))),
    );
    const channels = {
      notifications: await connections[0].createConfirmChannel(),
      inventory: await connections[1].createConfirmChannel(),
    };
    const users = {
      notifications: decodeURIComponent(new URL(system.brokerUrlOf('notifications')).username),
      inventory: decodeURIComponent(new URL(system.brokerUrlOf('inventory')).username),
    };
    const orderIds = Array.from({ length: orders }, () => randomUUID());
    const events = orderIds.flatMap(eventsOf);

    // 1. The broker's cost of the archive: the same publishes without the stream bound, then with it.
    const sample = events.slice(0, Math.min(20_000, events.length));
    const admin = await connect(system.brokerUrl);
    const adminChannel = await admin.createChannel();
    for (const exchange of ['notifications', 'inventory'])
      await adminChannel.unbindQueue(ARCHIVE_STREAM, exchange, '#');
    const copies = sample.map((event) => ({ ...event, id: randomUUID() }));
    const withoutMs = await publish(channels, users, copies, () => undefined);
    for (const exchange of ['notifications', 'inventory']) await adminChannel.bindQueue(ARCHIVE_STREAM, exchange, '#');
    await admin.close();
    log(`without the archive: broker ${((withoutMs * 1000) / sample.length).toFixed(1)} µs/event`);

    // 2. The archive filled: every event, with the stream bound (orders' two projections follow it).
    let lastShown = 0;
    const started = Date.now();
    const withMs = await publish(channels, users, events, (done) => {
      if (done - lastShown >= 20_000 || done === events.length) {
        lastShown = done;
        log(`  published ${done.toLocaleString('en-US')} / ${events.length.toLocaleString('en-US')}`);
      }
    });
    const publishSeconds = (Date.now() - started) / 1000;
    const brokerUsPerEvent = (withMs * 1000) / events.length;
    const brokerUsWithout = (withoutMs * 1000) / sample.length;
    log(`with the archive: broker ${brokerUsPerEvent.toFixed(1)} µs/event (${publishSeconds.toFixed(1)} s)`);

    // 3. The subject index catches up.
    const indexed = await waitUntil(
      async () => {
        const status = await client.projection('archive-index');
        return status.events >= events.length ? status : undefined;
      },
      600_000,
      'the subject index',
    );
    const indexSeconds = (Date.now() - started) / 1000;
    log(`subject index caught up ${indexSeconds.toFixed(1)} s after the first publish (${indexed.events} events)`);
    const bytes = streamBytes(system.vhost);
    if (bytes !== undefined)
      log(`stream on disk: ${bytes.toLocaleString('en-US')} bytes, ${(bytes / events.length).toFixed(0)} bytes/event`);

    // 4. GET /events of one order, the stream holding every event.
    const lookupMs: number[] = [];
    for (let i = 0; i < opts.lookups; i++) {
      const orderId = orderIds[Math.floor(Math.random() * orderIds.length)];
      const t0 = performance.now();
      const found = await client.archivedEvents(orderId);
      lookupMs.push(performance.now() - t0);
      if (found.length !== 5) throw new Error(`GET /events of ${orderId}: ${found.length} events, not 5`);
    }
    lookupMs.sort((a, b) => a - b);
    const lookup = {
      p50: percentile(lookupMs, 50),
      p95: percentile(lookupMs, 95),
      p99: percentile(lookupMs, 99),
      max: lookupMs[lookupMs.length - 1],
    };
    log(
      `GET /events (index): p50 ${lookup.p50.toFixed(1)} ms, p95 ${lookup.p95.toFixed(1)}, p99 ${lookup.p99.toFixed(1)}`,
    );

    // 5. The same without an index: read the whole stream.
    const scans: number[] = [];
    for (let i = 0; i < opts.scans; i++) {
      const { ms, found } = await scan(
        system.brokerUrl,
        orderIds[Math.floor(Math.random() * orderIds.length)],
        events.length,
      );
      if (found !== 5) throw new Error(`scan found ${found} events, not 5`);
      scans.push(ms);
      log(`scan of the whole stream for one order: ${ms.toFixed(0)} ms`);
    }

    // 6. A rebuild of the timeline from the whole archive.
    const rebuildStart = Date.now();
    await client.http('orders', '/admin/projections/timeline/rebuild', { method: 'POST' });
    const rebuilt = await waitUntil(
      async () => {
        const status = await client.projection('timeline');
        return status.state === 'live' && status.finishedAt && Date.parse(status.finishedAt) >= rebuildStart
          ? status
          : undefined;
      },
      600_000,
      'the timeline rebuilt',
    );
    const rebuildSeconds = (Date.parse(rebuilt.finishedAt as string) - Date.parse(rebuilt.startedAt as string)) / 1000;
    log(
      `timeline rebuilt: ${rebuilt.events} events in ${rebuildSeconds.toFixed(1)} s (${Math.round(rebuilt.events / rebuildSeconds)} events/s)`,
    );

    await Promise.all(connections.map((connection) => connection.close().catch(() => undefined)));

    const scanMedian = scans.length ? [...scans].sort((a, b) => a - b)[Math.floor(scans.length / 2)] : undefined;
    const report = {
      machine,
      options: opts,
      events: events.length,
      brokerUsPerEvent: {
        withArchive: brokerUsPerEvent,
        withoutArchive: brokerUsWithout,
        archive: brokerUsPerEvent - brokerUsWithout,
      },
      streamBytes: bytes ?? null,
      bytesPerEvent: bytes !== undefined ? bytes / events.length : null,
      publishSeconds,
      indexCaughtUpSeconds: indexSeconds,
      lookupMs: lookup,
      scanMs: scans,
      rebuild: { events: rebuilt.events, seconds: rebuildSeconds, eventsPerSecond: rebuilt.events / rebuildSeconds },
    };
    const f1 = (n: number) => n.toFixed(1);
    const markdown = [
      '# Event archive benchmark',
      '',
      `Run on ${new Date().toISOString()} (\`npm run bench:archive\`).`,
      '',
      `**Machine:** ${describeMachine(machine)}.`,
      '',
      `The stream held ${report.events.toLocaleString('en-US')} events (${orders.toLocaleString('en-US')} orders, five events each, about ${serializeEvent(events[0]).length} bytes per body), published by their producers with confirms while the four apps ran; orders followed it with its two projections (the subject index and the timeline).`,
      '',
      markdownTable(
        ['measure', 'value'],
        [
          ['broker CPU per event published, archive bound (append + 2 readers)', `${f1(brokerUsPerEvent)} µs`],
          ['broker CPU per event published, archive unbound', `${f1(brokerUsWithout)} µs`],
          ['what the archive costs the broker per event', `${f1(brokerUsPerEvent - brokerUsWithout)} µs`],
          [
            'stream on disk per event',
            bytes !== undefined ? `${(bytes / report.events).toFixed(0)} bytes` : 'n/a (broker data not readable here)',
          ],
          [
            'subject index caught up after the first publish',
            `${f1(indexSeconds)} s (publishing took ${f1(publishSeconds)} s)`,
          ],
          [
            'GET /events, one order, through the index: p50 / p95 / p99 / max',
            `${f1(lookup.p50)} / ${f1(lookup.p95)} / ${f1(lookup.p99)} / ${f1(lookup.max)} ms`,
          ],
          [
            'one order by scanning the whole stream (median)',
            scanMedian !== undefined ? `${scanMedian.toFixed(0)} ms` : 'not run',
          ],
          [
            'timeline rebuilt from the whole archive',
            `${f1(rebuildSeconds)} s, ${Math.round(report.rebuild.eventsPerSecond).toLocaleString('en-US')} events/s`,
          ],
        ],
      ),
      '',
      '![GET /events for one order: through the index, and by scanning the stream](bench-archive.svg)',
      '',
      'A saga order publishes 8 to 10 events, so the archive costs the broker about 10x the per-event figure per order.',
    ].join('\n');
    const svg = barChart({
      title: `One order's events from a stream of ${report.events.toLocaleString('en-US')} (ms, lower is better)`,
      yLabel: 'ms',
      groups: ['GET /events through the subject index (p50)', 'GET /events (p99)', 'scan of the whole stream'],
      series: [{ name: 'time to answer', values: [lookup.p50, lookup.p99, scanMedian ?? Number.NaN] }],
    });
    const paths = await writeReport({ dir: opts.out, name: 'bench-archive', json: report, markdown, svg });
    log(`report: ${paths.join(', ')}`);
  } finally {
    await system.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:archive failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
