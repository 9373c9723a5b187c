import { execFile } from 'node:child_process';

export interface RunCommandOptions {
  /** Written to the command's standard input, which is then closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; rejects with the command line, exit code and stderr when it fails. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const code =
            typeof error.code === 'number' ? `exit code ${error.code}` : String(error.code ?? error.signal ?? '');
          const detail = (stderr || stdout || error.message).trim();
          reject(new CommandError(`\`${[command, ...args].join(' ')}\` failed (${code}): ${detail}`, stdout, stderr));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    child.stdin?.on('error', () => undefined); // a command that exits before reading its input is reported above
    child.stdin?.end(options.input ?? '');
  });
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}
