import type { DeadLetter } from '@shop/messaging';
import { listTable, parseCommand, redriveReport, runCli, UsageError } from './cli';

const QUEUE = 'inventory.reserve-stock';
const ID = '5c0cc360-46e4-44b8-8441-b9d705c1a190';

describe('dead-letters arguments', () => {
  it('reads list with one or more queues (comma separated or repeated), a limit and --json', () => {
    expect(parseCommand(['list', '--queue', QUEUE])).toEqual({
      command: 'list',
      app: 'inventory',
      queues: [QUEUE],
      limit: 100,
      json: false,
    });
    expect(
      parseCommand([
        'list',
        '--queue',
        `${QUEUE},inventory.release-stock`,
        '--queue',
        'inventory.x',
        '--limit',
        '5',
        '--json',
      ]),
    ).toEqual({
      command: 'list',
      app: 'inventory',
      queues: [QUEUE, 'inventory.release-stock', 'inventory.x'],
      limit: 5,
      json: true,
    });
  });

  it('reads redrive of ids (each once) or of all', () => {
    expect(parseCommand(['redrive', '--queue', QUEUE, '--ids', `${ID},${ID}`, '--ids', 'other'])).toEqual({
      command: 'redrive',
      app: 'inventory',
      request: { queue: QUEUE, messageIds: [ID, 'other'] },
      json: false,
    });
    expect(parseCommand(['redrive', '--queue', QUEUE, '--all', '--json'])).toEqual({
      command: 'redrive',
      app: 'inventory',
      request: { queue: QUEUE, all: true },
      json: true,
    });
  });

  it('prints its usage when asked, or given no command', () => {
    expect(parseCommand([])).toEqual({ command: 'help' });
    expect(parseCommand(['list', '--help'])).toEqual({ command: 'help' });
  });

  it.each([
    [['purge', '--queue', QUEUE], 'unknown command: purge (list or redrive)'],
    [['list'], "list needs --queue <queue> (an app's consumer queue)"],
    [['list', '--queue', 'shop.x'], `--queue: "shop.x" is not an app's queue`],
    [['list', '--queue', 'inventory.'], `--queue: "inventory." is not an app's queue`],
    [['list', '--queue', `${QUEUE}.dlq`], `--queue: name the consumer's queue ("${QUEUE}"), not its dead-letter queue`],
    [['list', '--queue', `${QUEUE},orders.x`], '--queue: the queues of one app at a time (got inventory, orders)'],
    [['list', '--queue', QUEUE, '--limit', '0'], '--limit: expected an integer from 1 to 1000 (got "0")'],
    [['list', '--queue', QUEUE, '--limit', '1.5'], '--limit: expected an integer from 1 to 1000'],
    [['list', '--queue', QUEUE, '--all'], '--ids and --all are options of redrive'],
    [['redrive', '--queue', QUEUE], 'redrive needs --ids <id>[,<id>...] or --all'],
    [['redrive', '--queue', QUEUE, '--ids', ID, '--all'], 'redrive takes --ids or --all, not both'],
    [['redrive', '--queue', `${QUEUE},inventory.y`, '--all'], 'redrive takes one --queue'],
    [['redrive', '--queue', QUEUE, '--all', '--limit', '3'], '--limit is an option of list'],
    [['list', '--queue', QUEUE, 'extra'], 'unexpected argument: extra'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });

  it('refuses an unknown option (exit code 2 in main.ts)', () => {
    expect(() => parseCommand(['list', '--queue', QUEUE, '--verbose'])).toThrow(
      expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }),
    );
  });

  it('needs RABBITMQ_URL, and says so in one line', async () => {
    const io = { env: {}, stdout: () => undefined, stderr: () => undefined };
    await expect(runCli(['list', '--queue', QUEUE], io)).rejects.toThrow(
      new UsageError("Invalid setting RABBITMQ_URL: expected the app's broker URL (it is not set)"),
    );
    await expect(
      runCli(['list', '--queue', QUEUE], { ...io, env: { RABBITMQ_URL: 'http://example.com' } }),
    ).rejects.toThrow(/Invalid setting RABBITMQ_URL: expected a URL starting with amqp:\/\/ or amqps:\/\//);
  });
});

describe('dead-letters output', () => {
  const item: DeadLetter = {
    queue: QUEUE,
    messageId: ID,
    type: 'order.placed',
    reason: 'retries-exhausted',
    attempts: 4,
    firstDeadLetteredAt: '2026-01-02T03:04:05.000Z',
    error: 'database\nsaid no',
    redrives: 1,
    body: {},
  };

  it('prints a table, one line per dead letter, with a count', () => {
    const lines = listTable([item]).split('\n');
    expect(lines[0]).toMatch(
      /^QUEUE\s+MESSAGE ID\s+TYPE\s+REASON\s+ATTEMPTS\s+REDRIVES\s+FIRST DEAD-LETTERED\s+ERROR$/,
    );
    expect(lines[1].split(/\s{2,}/)).toEqual([
      QUEUE,
      ID,
      'order.placed',
      'retries-exhausted',
      '4',
      '1',
      '2026-01-02T03:04:05.000Z',
      'database said no',
    ]);
    expect(lines[2]).toBe('1 dead letter(s)');
    expect(listTable([])).toBe('no dead letters\n');
  });

  it('says what a redrive sent back, did not find, and left in place', () => {
    expect(
      redriveReport({ queue: QUEUE, redriven: [ID], notFound: ['x'], skipped: [{ messageId: 'y', reason: 'why' }] }),
    ).toBe(`redriven to ${QUEUE}: 1\n  ${ID}\nnot found: 1\n  x\nleft in place: 1\n  y: why\n`);
  });
});
