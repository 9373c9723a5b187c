/**
 * Records new event versions, and compatible changes to published ones, in schema-lock.json:
 * `npx nx run contracts:schema-lock`. Refuses (exit 1, nothing written) when a published version
 * changed incompatibly or disappeared: keep it as it was and add a new version with an upcaster.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatSchemaLock, reviewSchemaLock, type SchemaLock } from '../src';
import { writeFormatted } from './write-formatted';

const file = join(__dirname, '../schema-lock.json');
const locked = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SchemaLock) : {};
const { lock, pending, problems } = reviewSchemaLock(locked);

if (problems.length > 0) {
  console.error('schema-lock.json not written: published versions changed incompatibly\n');
  console.error(problems.map((problem) => `  - ${problem}`).join('\n'));
  console.error('\nKeep each published version as it was and add a new version with an upcaster.');
  process.exit(1);
}
for (const change of pending) console.log(`recording: ${change}`);
void writeFormatted(file, formatSchemaLock(lock));
