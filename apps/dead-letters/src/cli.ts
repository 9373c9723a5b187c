import { parseArgs } from 'node:util';
import { connect, type ChannelModel } from 'amqplib';
import { APP_NAMES, type AppName } from '@shop/contracts';
import {
  brokerNodeUrls,
  DeadLetters,
  MAX_DEAD_LETTERS_LIMIT,
  nodeAddress,
  redactBrokerUrl,
  UnknownQueueError,
  type DeadLetter,
  type RedriveRequest,
  type RedriveSummary,
} from '@shop/messaging';
import { brokerConnection, brokerSettings, loadSettings, setting, SettingsError } from '@shop/platform';

export const USAGE = `Usage: dead-letters <command> [options]

What waits in an app's dead-letter queues (<queue>.dlq), and sending it back to its queue: the same
code as the apps' GET /admin/dead-letters and POST /admin/dead-letters/redrive, for an operator
without HTTP access. It connects with RABBITMQ_URL as the app's own broker user (RABBITMQ_PASSWORD_FILE
and the RABBITMQ_TLS_* files as the apps read them); the app is the queues' prefix.

Commands:
  list      the dead letters of the queues, oldest first, without taking any away
  redrive   send dead letters back to their queue, once each (publisher confirm, then removed
            from the dead-letter queue); a message already applied is not applied again

Options:
  --queue Q[,Q...]   the consumer queues (<app>.<name>, not their .dlq); redrive takes one
  --limit N          list at most N (1 to ${MAX_DEAD_LETTERS_LIMIT}; default 100)
  --ids ID[,ID...]   redrive these messages (their ids, as listed)
  --all              redrive all that wait in the dead-letter queue when it starts
  --json             print JSON (list: with each message's body) instead of a table

Examples:
  npm run dead-letters -- list --queue inventory.reserve-stock --limit 20
  npm run dead-letters -- redrive --queue inventory.reserve-stock --ids 5c0cc360-46e4-44b8-8441-b9d705c1a190
  npm run dead-letters -- redrive --queue inventory.reserve-stock --all --json`;

/** A mistake of the caller's: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What the command line asks for. */
export type Command =
  | { command: 'help' }
  | { command: 'list'; app: AppName; queues: string[]; limit: number; json: boolean }
  | { command: 'redrive'; app: AppName; request: RedriveRequest; json: boolean };

export interface Io {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Reads the command line; a UsageError saying what is wrong with it. */
export function parseCommand(argv: string[]): Command {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      queue: { type: 'string', multiple: true },
      limit: { type: 'string' },
      ids: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help || command === undefined) return { command: 'help' };
  if (extra.length) throw new UsageError(`unexpected argument: ${extra[0]}`);
  if (command !== 'list' && command !== 'redrive')
    throw new UsageError(`unknown command: ${command} (list or redrive)`);
  const queues = commaSeparated(values.queue);
  if (queues.length === 0) throw new UsageError(`${command} needs --queue <queue> (an app's consumer queue)`);
  const app = appOf(queues);
  const json = values.json === true;

  if (command === 'list') {
    if (values.ids !== undefined || values.all) throw new UsageError('--ids and --all are options of redrive');
    return { command, app, queues, limit: limitOf(values.limit), json };
  }
  if (queues.length > 1) throw new UsageError('redrive takes one --queue');
  if (values.limit !== undefined) throw new UsageError('--limit is an option of list');
  const ids = commaSeparated(values.ids);
  if (values.all && values.ids !== undefined) throw new UsageError('redrive takes --ids or --all, not both');
  if (values.all) return { command, app, request: { queue: queues[0], all: true }, json };
  if (ids.length === 0) throw new UsageError('redrive needs --ids <id>[,<id>...] or --all');
  return { command, app, request: { queue: queues[0], messageIds: [...new Set(ids)] }, json };
}

/** Runs the command against the broker of RABBITMQ_URL; rejects with one line's worth of error. */
export async function runCli(argv: string[], io: Io): Promise<void> {
  const command = parseCommand(argv);
  if (command.command === 'help') return io.stdout(`${USAGE}\n`);
  const { url, tls, maxDecompressedBytes } = connectionOf(io.env);
  // RABBITMQ_URL may name several nodes of one cluster: the first that answers
  const nodes = brokerNodeUrls(url);
  const user = decodeURIComponent(new URL(nodes[0]).username) || 'guest';
  let model: ChannelModel | undefined;
  const failures: string[] = [];
  for (const node of nodes) {
    try {
      model = await connect(node, {
        ...tls,
        timeout: 10_000,
        clientProperties: { connection_name: `dead-letters-cli-${process.pid}` },
      });
      break;
    } catch (error) {
      failures.push(`${nodes.length > 1 ? `${nodeAddress(node)}: ` : ''}${(error as Error).message}`);
    }
  }
  if (!model) throw new Error(`cannot reach the broker at ${redactBrokerUrl(url)}: ${failures.join('; ')}`);
  model.on('error', () => undefined);
  try {
    const queues = command.command === 'list' ? command.queues : [command.request.queue];
    const deadLetters = new DeadLetters(() => model, {
      app: command.app,
      user,
      queues: () => queues,
      // a compressed body is listed decompressed, as the app's consumers would read it
      maxDecompressedBytes,
      logger: {
        log: (line: { msg?: string; event_id?: string; queue?: string; redrive_count?: number }) =>
          io.stderr(`${line.queue}: ${line.event_id} ${line.msg} (redrive ${line.redrive_count})\n`),
        warn: (line: string) => io.stderr(`${line}\n`),
      },
    });
    if (command.command === 'list') {
      const found = await deadLetters.list({ limit: command.limit });
      io.stdout(command.json ? `${JSON.stringify(found, null, 2)}\n` : listTable(found));
    } else {
      const summary = await deadLetters.redrive(command.request);
      io.stdout(command.json ? `${JSON.stringify(summary, null, 2)}\n` : redriveReport(summary));
    }
  } catch (error) {
    if (error instanceof UnknownQueueError) throw new UsageError(error.message);
    throw error;
  } finally {
    await model.close().catch(() => undefined);
  }
}

/** The broker's URL and TLS files as the apps read them; a UsageError naming a bad setting. */
function connectionOf(env: Io['env']) {
  try {
    const settings = loadSettings({ RABBITMQ_URL: setting.optionalUrl(['amqp:', 'amqps:']), ...brokerSettings() }, env);
    if (settings.RABBITMQ_URL === undefined) {
      throw new SettingsError("Invalid setting RABBITMQ_URL: expected the app's broker URL (it is not set)");
    }
    return brokerConnection({ ...settings, RABBITMQ_URL: settings.RABBITMQ_URL });
  } catch (error) {
    if (error instanceof SettingsError) throw new UsageError(error.message);
    throw error;
  }
}

function commaSeparated(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean);
}

/** The app whose queues these are (`<app>.<name>`), all of one app. */
function appOf(queues: string[]): AppName {
  const apps = new Set<string>();
  for (const queue of queues) {
    const app = APP_NAMES.find((name) => queue.startsWith(`${name}.`) && queue.length > name.length + 1);
    if (!app) {
      throw new UsageError(
        `--queue: "${queue}" is not an app's queue (<app>.<name>, app one of ${APP_NAMES.join(', ')})`,
      );
    }
    if (queue.endsWith('.dlq')) {
      throw new UsageError(`--queue: name the consumer's queue ("${queue.slice(0, -4)}"), not its dead-letter queue`);
    }
    apps.add(app);
  }
  if (apps.size > 1) throw new UsageError(`--queue: the queues of one app at a time (got ${[...apps].join(', ')})`);
  return [...apps][0] as AppName;
}

function limitOf(text: string | undefined): number {
  if (text === undefined) return 100;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > MAX_DEAD_LETTERS_LIMIT) {
    throw new UsageError(
      `--limit: expected an integer from 1 to ${MAX_DEAD_LETTERS_LIMIT} (got ${JSON.stringify(text)})`,
    );
  }
  return limit;
}

/** The listing as a table; the bodies only with --json. */
export function listTable(found: DeadLetter[]): string {
  if (found.length === 0) return 'no dead letters\n';
  const header = ['QUEUE', 'MESSAGE ID', 'TYPE', 'REASON', 'ATTEMPTS', 'REDRIVES', 'FIRST DEAD-LETTERED', 'ERROR'];
  const rows = found.map((item) => [
    item.queue,
    item.messageId ?? '-',
    item.type ?? '-',
    item.reason,
    String(item.attempts),
    String(item.redrives),
    item.firstDeadLetteredAt ?? '-',
    cut(item.error ?? '', 80),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n${found.length} dead letter(s)\n`;
}

export function redriveReport(summary: RedriveSummary): string {
  const lines = [`redriven to ${summary.queue}: ${summary.redriven.length}`];
  lines.push(...summary.redriven.map((id) => `  ${id}`));
  if (summary.notFound.length)
    lines.push(`not found: ${summary.notFound.length}`, ...summary.notFound.map((id) => `  ${id}`));
  if (summary.skipped.length) {
    lines.push(
      `left in place: ${summary.skipped.length}`,
      ...summary.skipped.map((s) => `  ${s.messageId}: ${s.reason}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

function cut(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
