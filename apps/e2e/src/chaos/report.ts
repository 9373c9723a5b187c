import { escapeXml, markdownTable, niceStep, SECONDS_STEPS, writeReport } from '@shop/testing';
import type { ChaosReport, Sample } from './chaos';

const COLORS = { PENDING: '#e0a800', CONFIRMED: '#2e8b57', CANCELLED: '#c0392b' } as const;
const FAULT_COLORS: Record<string, string> = {
  'kill-replica': '#555',
  'broker-restart': '#8e44ad',
  'node-kill': '#c2185b',
  'node-stop-app': '#16a085',
  'postgres-outage': '#2471a3',
  'kill-after-commit': '#d35400',
  poison: '#000',
};

/** The console table: orders by final state, faults, time to heal, each invariant. */
export function formatTable(report: ChaosReport): string {
  const rows: Array<[string, string]> = [];
  rows.push([
    'seed / orders / concurrency / rate',
    `${report.seed} / ${report.options.orders} / ${report.options.concurrency} / ${report.options.rate}/s`,
  ]);
  rows.push(['private broker / postgres', `${report.private.broker} / ${report.private.postgres}`]);
  if (report.private.clusterNodes) rows.push(['RabbitMQ cluster nodes', String(report.private.clusterNodes)]);
  rows.push(['orders accepted', `${report.orders.accepted} of ${report.orders.requested}`]);
  for (const [state, n] of Object.entries(report.orders.byState).sort()) rows.push([`  ${state}`, String(n)]);
  for (const [kind, n] of Object.entries(report.faultCounts)) rows.push([`fault ${kind}`, String(n)]);
  for (const f of nodeFaults(report)) {
    rows.push([
      `  ${f.kind} ${f.node}`,
      `apps moved in ${optionalSeconds(f.movedMs)}, replicas online ${optionalSeconds(f.replicasBackMs)} after its return`,
    ]);
  }
  rows.push(['events delivered twice', `${report.duplicates.republished} (of ${report.duplicates.seen} seen)`]);
  rows.push(['load duration', seconds(report.durationsMs.load)]);
  rows.push(['time to heal (after last fault / load)', seconds(report.durationsMs.timeToHeal)]);
  rows.push(['total duration', seconds(report.durationsMs.total)]);
  rows.push(['lost', String(report.counts.lost)]);
  rows.push(['duplicated effects', String(report.counts.duplicatedEffects)]);
  rows.push(['unexpected outcomes', String(report.counts.unexpectedOutcomes)]);
  rows.push(['idempotency mismatches', String(report.counts.idempotencyMismatches)]);
  for (const inv of report.invariants)
    rows.push([`${inv.pass ? 'PASS' : 'FAIL'} ${inv.name}`, inv.pass ? '' : String(inv.count)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const inv of report.invariants.filter((i) => !i.pass)) {
    lines.push(`\n${inv.name}:`);
    for (const d of inv.details) lines.push(`  - ${d}`);
  }
  lines.push(`\n${report.passed ? 'CHAOS PASSED' : 'CHAOS FAILED'}`);
  return lines.join('\n');
}

/** `202: 40, 503: 3`: a fault's HTTP answers by status. */
function formatAnswers(answers: Record<string, number> | undefined): string {
  return Object.entries(answers ?? {})
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function optionalSeconds(ms: number | undefined): string {
  return ms === undefined ? 'never (timed out)' : seconds(ms);
}

/** The faults that struck a broker node of the cluster. */
function nodeFaults(report: ChaosReport) {
  return report.faults.filter((f) => f.kind === 'node-kill' || f.kind === 'node-stop-app');
}

/** ` on a 3-node RabbitMQ cluster` or nothing. */
function onCluster(report: ChaosReport): string {
  return report.private.clusterNodes ? ` on a ${report.private.clusterNodes}-node RabbitMQ cluster` : '';
}

/** Orders by state over time, with a vertical line at each fault: hand-written SVG. */
export function renderSvg(report: ChaosReport): string {
  const W = 960;
  const H = 420;
  const m = { left: 60, right: 170, top: 30, bottom: 40 };
  const samples: Sample[] = report.samples.length
    ? report.samples
    : [{ tMs: 0, PENDING: 0, CONFIRMED: 0, CANCELLED: 0 }];
  const tMax = Math.max(1_000, ...samples.map((s) => s.tMs), ...report.faults.map((f) => f.atMs));
  const yMax = Math.max(1, ...samples.map((s) => Math.max(s.PENDING, s.CONFIRMED, s.CANCELLED)));
  const x = (t: number) => m.left + (t / tMax) * (W - m.left - m.right);
  const y = (v: number) => H - m.bottom - (v / yMax) * (H - m.top - m.bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(
    `<text x="${m.left}" y="18" font-size="13">Orders by state over time (seed ${report.seed}, ${report.orders.accepted} orders${onCluster(report)})</text>`,
  );
  // axes and grid
  for (let i = 0; i <= 5; i++) {
    const v = Math.round((yMax * i) / 5);
    out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  const step = niceStep(tMax / 1000 / 10, SECONDS_STEPS);
  for (let s = 0; s * 1000 <= tMax; s += step) {
    out.push(`<text x="${x(s * 1000)}" y="${H - m.bottom + 16}" text-anchor="middle">${s}s</text>`);
  }
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#333"/>`);
  // faults
  for (const f of report.faults.filter((f) => f.kind !== 'duplicate-delivery')) {
    const color = FAULT_COLORS[f.kind] ?? '#999';
    const answered = formatAnswers(f.answers);
    const title = escapeXml(
      `${(f.atMs / 1000).toFixed(1)} s ${f.kind}: ${f.detail}${answered ? ` (HTTP answers meanwhile: ${answered})` : ''}`,
    );
    // the fault's whole duration as a band (a database outage lasts seconds), its start as a line
    out.push(
      `<rect x="${x(f.atMs)}" y="${m.top}" width="${Math.max(1, x(f.atMs + f.durationMs) - x(f.atMs))}" height="${H - m.bottom - m.top}" fill="${color}" opacity="0.12"><title>${title}</title></rect>`,
      `<line x1="${x(f.atMs)}" x2="${x(f.atMs)}" y1="${m.top}" y2="${H - m.bottom}" stroke="${color}" stroke-dasharray="4 3"><title>${title}</title></line>`,
    );
  }
  // series
  for (const key of ['PENDING', 'CONFIRMED', 'CANCELLED'] as const) {
    const points = samples.map((s) => `${x(s.tMs).toFixed(1)},${y(s[key]).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${COLORS[key]}" stroke-width="2" points="${points}"/>`);
  }
  // legend
  let ly = m.top + 10;
  for (const key of ['PENDING', 'CONFIRMED', 'CANCELLED'] as const) {
    out.push(
      `<line x1="${W - m.right + 15}" x2="${W - m.right + 35}" y1="${ly}" y2="${ly}" stroke="${COLORS[key]}" stroke-width="2"/>`,
    );
    out.push(`<text x="${W - m.right + 40}" y="${ly + 4}">${key}</text>`);
    ly += 18;
  }
  ly += 8;
  for (const [kind, color] of Object.entries(FAULT_COLORS)) {
    if (!report.faultCounts[kind]) continue;
    out.push(
      `<line x1="${W - m.right + 15}" x2="${W - m.right + 35}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-dasharray="4 3"/>`,
    );
    out.push(`<text x="${W - m.right + 40}" y="${ly + 4}">${kind}</text>`);
    ly += 18;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function renderMarkdown(report: ChaosReport, svgFile: string): string {
  const lines: string[] = [];
  lines.push(`# Chaos run ${report.startedAt}: ${report.passed ? 'PASSED' : 'FAILED'}`);
  lines.push('');
  lines.push(
    `Seed ${report.seed}, ${report.options.orders} orders, ${report.options.concurrency} in flight, two replicas of every app, ` +
      `ORDER_TIMEOUT_MS=${report.options.orderTimeoutMs}, PAYMENTS_TRANSIENT_FAILURE_RATE=${report.options.transientFailureRate}, ` +
      `private broker: ${report.private.broker}, private PostgreSQL: ${report.private.postgres}${report.private.clusterNodes ? `, ${report.private.clusterNodes} RabbitMQ nodes in one cluster (every app given all of them)` : ''}.`,
  );
  lines.push('');
  lines.push(`![orders by state over time](${svgFile})`);
  lines.push('');
  lines.push('## Orders by final state');
  lines.push('');
  const byState = Object.entries(report.orders.byKind).flatMap(([kind, states]) =>
    Object.entries(states).map(([state, n]) => [kind, state, n]),
  );
  byState.push(['**all**', 'accepted', `${report.orders.accepted} of ${report.orders.requested}`]);
  lines.push(markdownTable(['kind', 'state', 'count'], byState));
  lines.push('');
  lines.push('## Faults');
  lines.push('');
  lines.push(
    markdownTable(
      ['at (s)', 'took (s)', 'fault', 'detail', 'HTTP answers meanwhile'],
      report.faults.map((f) => [
        (f.atMs / 1000).toFixed(1),
        (f.durationMs / 1000).toFixed(1),
        f.kind,
        f.detail,
        formatAnswers(f.answers) || '-',
      ]),
    ),
  );
  lines.push('');
  lines.push(
    '"kill-after-commit" is approximated: a burst of 20 POSTs goes to one orders replica, which is SIGKILLed the moment the ' +
      'first 202 comes back, i.e. after those transactions (order and outbox row) committed and usually before the outbox ' +
      'relay published them; the client retries unanswered POSTs with the same Idempotency-Key on the other replica.',
  );
  lines.push('');
  if (report.private.clusterNodes) {
    lines.push('## Broker nodes');
    lines.push('');
    lines.push(
      markdownTable(
        [
          'at (s)',
          'fault',
          'node',
          'every app replica on another node after',
          'every quorum queue fully replicated after its return',
        ],
        nodeFaults(report).map((f) => [
          (f.atMs / 1000).toFixed(1),
          f.kind,
          f.node ?? '-',
          optionalSeconds(f.movedMs),
          optionalSeconds(f.replicasBackMs),
        ]),
      ),
    );
    lines.push('');
    lines.push(
      '`node-kill` is a SIGKILL of the node (its connections reset, its queue leaders elected anew on the others), ' +
        '`node-stop-app` a `rabbitmqctl stop_app` (the node cut off while its VM runs, a partition without touching the ' +
        'network). One node at a time: a quorum queue needs a majority of its three replicas.',
    );
    lines.push('');
  }
  lines.push('## Timings');
  lines.push('');
  const d = report.durationsMs;
  lines.push(
    markdownTable(
      ['startup', 'load', 'heal', 'time to heal', 'check', 'total'],
      [[d.startup, d.load, d.heal, d.timeToHeal, d.check, d.total].map((v) => `${(v / 1000).toFixed(1)} s`)],
    ),
  );
  lines.push('');
  lines.push('## Invariants');
  lines.push('');
  lines.push(
    markdownTable(
      ['result', 'invariant', 'broken'],
      report.invariants.map((inv) => [inv.pass ? 'PASS' : '**FAIL**', inv.name, inv.count]),
    ),
  );
  lines.push('');
  const c = report.counts;
  lines.push(
    `Lost: ${c.lost}. Duplicated effects: ${c.duplicatedEffects}. Unexpected outcomes: ${c.unexpectedOutcomes}. ` +
      `Idempotency mismatches: ${c.idempotencyMismatches}. Events delivered twice: ${report.duplicates.republished}.`,
  );
  lines.push('');
  lines.push('Dead-letter queues:');
  lines.push('');
  for (const q of report.poison.deadLetterQueues) lines.push(`- \`${q.queue}\`: ${q.messageCount}`);
  for (const inv of report.invariants.filter((i) => !i.pass)) {
    lines.push('');
    lines.push(`### ${inv.name}`);
    lines.push('');
    for (const detail of inv.details) lines.push(`- ${detail}`);
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * Writes reports/chaos-<timestamp>.json, .md and .svg (formatted like the rest of the repository, so
 * that `prettier --check .` passes with reports/ present); returns their paths.
 */
export async function writeReports(report: ChaosReport, dir: string): Promise<string[]> {
  const name = `chaos-${report.private.clusterNodes ? 'cluster-' : ''}${report.startedAt.replace(/[:.]/g, '-')}`;
  return writeReport({
    dir,
    name,
    json: report,
    markdown: renderMarkdown(report, `${name}.svg`),
    svg: renderSvg(report),
  });
}
