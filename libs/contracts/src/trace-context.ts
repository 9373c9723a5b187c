import { randomFillSync } from 'node:crypto';

/** A W3C Trace Context `traceparent` (version 00), split into its fields. */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the parent span. */
  spanId: string;
  /** 2 lowercase hex digits; '01' = sampled. */
  flags: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZERO = /^0+$/;

/** The fields of a `traceparent` header, or undefined when it is missing or malformed. */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  const match = value === undefined ? null : TRACEPARENT.exec(value.trim());
  if (!match || ALL_ZERO.test(match[1]) || ALL_ZERO.test(match[2])) return undefined;
  return { traceId: match[1], spanId: match[2], flags: match[3] };
}

export function formatTraceparent(tp: TraceParent): string {
  return `00-${tp.traceId}-${tp.spanId}-${tp.flags}`;
}

/**
 * Random bytes for ids, drawn from a pool refilled 4 KiB at a time: one call into the CSPRNG per 256
 * span ids instead of one per id (a call costs microseconds, more than everything else of the stamp).
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomId(bytes: number): string {
  let id: string;
  do {
    if (poolOffset + bytes > POOL_SIZE) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    id = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
  } while (ALL_ZERO.test(id));
  return id;
}

/** A new trace: random trace id and span id, sampled. */
export function newTraceparent(): string {
  return formatTraceparent({
    traceId: randomId(16),
    spanId: randomId(8),
    flags: '01',
  });
}

/** A new span in the parent's trace (same trace id and flags); a new trace when the parent is missing or malformed. */
export function childTraceparent(parent: string | undefined): string {
  const tp = parseTraceparent(parent);
  return tp ? formatTraceparent({ ...tp, spanId: randomId(8) }) : newTraceparent();
}
