/** Writes docs/asyncapi.yaml from the event definitions: `npx nx run contracts:asyncapi`. */
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateAsyncApi } from '../src';
import { writeFormatted } from './write-formatted';

const file = join(__dirname, '../../../docs/asyncapi.yaml');
const header = '# Generated from libs/contracts by `npx nx run contracts:asyncapi`. Do not edit by hand.\n';

void writeFormatted(
  file,
  header +
    stringify(generateAsyncApi(), {
      aliasDuplicateObjects: false,
      lineWidth: 0,
    }),
);
