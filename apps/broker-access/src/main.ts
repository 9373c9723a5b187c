import { SettingsError } from '@shop/platform';
import { runCli, UsageError } from './cli';

try {
  runCli(process.argv.slice(2), {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
} catch (error) {
  process.stderr.write(`broker-access: ${(error as Error).message}\n`);
  process.exit(
    error instanceof UsageError ||
      error instanceof SettingsError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ? 2
      : 1,
  );
}
