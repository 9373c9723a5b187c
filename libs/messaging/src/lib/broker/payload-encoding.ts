import {
  brotliCompress,
  brotliCompressSync,
  brotliDecompress,
  brotliDecompressSync,
  constants as zlibConstants,
  gunzip,
  gunzipSync,
  gzip,
  gzipSync,
  type BrotliOptions,
  type ZlibOptions,
} from 'node:zlib';

/**
 * Compression of message bodies (the AMQP `content-encoding` of a message says how its body is
 * encoded; the CloudEvent inside is the same either way). The relay compresses a body larger than a
 * threshold; every reader (consumers, the archive reader, the dead-letter listing) decompresses what
 * says it is compressed, never to more than a cap: a body that would expand past it (a zip bomb) is
 * refused when its output reaches the cap, without being expanded any further.
 */

/** The codings the relay compresses with: `gzip` (the default) or `br` (brotli). */
export const COMPRESSION_ENCODINGS = ['gzip', 'br'] as const;
export type CompressionEncoding = (typeof COMPRESSION_ENCODINGS)[number];

/** The `content-encoding` of a body the relay did not compress: the CloudEvent's JSON as UTF-8. */
export const PLAIN_ENCODING = 'utf-8';

/** Bodies larger than this are compressed unless configured otherwise. */
export const DEFAULT_COMPRESS_MIN_BYTES = 8 * 1024;

/** The most a compressed body may decompress to unless configured otherwise. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;

/**
 * Bodies below this are compressed on the event loop (tens of microseconds: cheaper than the thread
 * pool's round trip, which costs about as much again in CPU); larger ones on libuv's thread pool, so
 * that a large event does not stall the process (1 MiB of JSON takes ~8 ms to gzip).
 */
export const COMPRESS_ON_LOOP_MAX_BYTES = 32 * 1024;

/**
 * Compressed bodies up to this size are decompressed on the event loop, larger ones on the thread
 * pool. Measured in a consumer (64 KiB events, 15 KB of gzip, 100 deliveries in hand): on the loop
 * decompression costs ~170 µs of CPU per event, through the thread pool 550 to 1,000 µs (zlib's stream
 * machinery, a round trip per chunk, the garbage), and either way less than parsing what comes out,
 * which the consumer does on the loop anyway. The worst a body this small can do is expand to the cap
 * (brotli makes 64 MiB of zeros 106 bytes): ~10 to 35 ms on the loop before it is refused, less than
 * parsing a plain body of that size, which any producer may send.
 */
export const DECOMPRESS_ON_LOOP_MAX_BYTES = 16 * 1024;

/**
 * Bodies compressed, and decompressed, on the thread pool at once at most, per process; the others
 * wait their turn (in order). Started all at once (the relay publishes a batch together, a consumer
 * has `concurrency` deliveries in hand), zlib streams interleave on the pool's 4 threads: measured on
 * 64 KiB events, that doubles gzip's CPU per message and makes brotli's 7 times, and the memory grows
 * with every stream open. Bounded, each decompression holds at most `maxDecompressedBytes`: the
 * process at most 4 times that (and once more for the one on the event loop), however many zip bombs
 * arrive at once.
 */
export const MAX_CONCURRENT_COMPRESSIONS = 2;
export const MAX_CONCURRENT_DECOMPRESSIONS = 4;

/** Runs at most `max` tasks at once; the others start in the order they came, as earlier ones end. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  run<T>(task: (done: (error: Error | null, result: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.active++;
        let ended = false;
        const done = (error: Error | null, result: T) => {
          if (ended) return;
          ended = true;
          this.active--;
          this.waiting.shift()?.();
          if (error) reject(error);
          else resolve(result);
        };
        try {
          task(done);
        } catch (error) {
          done(error as Error, undefined as T);
        }
      };
      if (this.active < this.max) start();
      else this.waiting.push(start);
    });
  }
}

/**
 * Output per step of an asynchronous decompression (zlib's default is 16 KiB): each step is a round
 * trip to the thread pool, so a 64 KiB event took 5; at 64 KiB it takes 1 or 2, for 20 to 50% less CPU.
 */
const DECOMPRESS_CHUNK_BYTES = 64 * 1024;

const compressions = new Limiter(MAX_CONCURRENT_COMPRESSIONS);
const decompressions = new Limiter(MAX_CONCURRENT_DECOMPRESSIONS);

/** How the relay compresses: bodies larger than `minBytes`, with `encoding`. */
export interface CompressionOptions {
  minBytes: number;
  encoding: CompressionEncoding;
}

/** A body as it goes on the wire, and the `content-encoding` that says how to read it. */
export interface EncodedPayload {
  content: Buffer;
  contentEncoding: string;
  /** Bytes compression took off (0 when the body went plain). */
  savedBytes: number;
}

/**
 * gzip level 4 (the cheapest of zlib's lazy-matching levels): on the JSON of large orders it compresses
 * ~1.6 times faster than the default level 6 for ~6% more bytes. Brotli at quality 4, tuned for text:
 * about as fast as gzip level 4 and a little smaller; the default quality (11) is 100 times slower.
 */
const GZIP_OPTIONS: ZlibOptions = { level: 4 };
const brotliOptions = (size: number): BrotliOptions => ({
  params: {
    [zlibConstants.BROTLI_PARAM_QUALITY]: 4,
    [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
    [zlibConstants.BROTLI_PARAM_SIZE_HINT]: size,
  },
});

/**
 * `body` as the relay publishes it: compressed when `compression` is on and the body is larger than its
 * `minBytes` (and compressing makes it smaller), else as it is with `utf-8`. Synchronous for a plain
 * body and a small one; a promise for a large one, compressed on the thread pool.
 */
export function encodePayload(
  body: Buffer,
  compression: CompressionOptions | undefined,
): EncodedPayload | Promise<EncodedPayload> {
  if (!compression || body.length <= compression.minBytes) return plain(body);
  const { encoding } = compression;
  const pick = (compressed: Buffer): EncodedPayload =>
    compressed.length < body.length
      ? { content: compressed, contentEncoding: encoding, savedBytes: body.length - compressed.length }
      : plain(body);
  if (body.length < COMPRESS_ON_LOOP_MAX_BYTES) {
    return pick(
      encoding === 'gzip' ? gzipSync(body, GZIP_OPTIONS) : brotliCompressSync(body, brotliOptions(body.length)),
    );
  }
  return compressions
    .run<Buffer>((done) => {
      if (encoding === 'gzip') gzip(body, GZIP_OPTIONS, done);
      else brotliCompress(body, brotliOptions(body.length), done);
    })
    .then(pick);
}

function plain(body: Buffer): EncodedPayload {
  return { content: body, contentEncoding: PLAIN_ENCODING, savedBytes: 0 };
}

/** How a body of this `content-encoding` is read: as it is, or decompressed; undefined: not at all. */
export type ContentCoding = 'identity' | CompressionEncoding;

/**
 * The coding a `content-encoding` names, case-insensitively: none, empty, `identity`, `utf-8` or `utf8`
 * (what the relay sets on a plain body) is a plain body; `gzip` (or `x-gzip`) and `br` are compressed;
 * anything else is undefined: no reader of this library can read it.
 */
export function contentCodingOf(contentEncoding: unknown): ContentCoding | undefined {
  // the plain body as the relay sends it, first: no string work on the hot path
  if (contentEncoding === PLAIN_ENCODING || contentEncoding === undefined || contentEncoding === null) {
    return 'identity';
  }
  if (typeof contentEncoding !== 'string') return undefined;
  switch (contentEncoding.toLowerCase()) {
    case '':
    case 'identity':
    case 'utf-8':
    case 'utf8':
      return 'identity';
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'br':
      return 'br';
    default:
      return undefined;
  }
}

/**
 * A body that cannot be read: its `content-encoding` is none this library knows, it is not the
 * compressed stream it says it is, or it decompresses to more than the cap. Consumers dead-letter
 * such a message with reason `undecompressable`.
 */
export class UndecompressableError extends Error {
  override readonly name = 'UndecompressableError';
  constructor(
    message: string,
    /** The message's `content-encoding` as it came. */
    readonly contentEncoding: unknown,
    /** Whether the body was refused for decompressing to more than the cap. */
    readonly overCap = false,
  ) {
    super(message);
  }
}

/**
 * The body of a message, decompressed as its `content-encoding` says, to at most `maxBytes` (zlib
 * stops at the cap: a zip bomb costs at most `maxBytes` of memory). A plain body is returned as it is
 * (the consumer's hot path allocates nothing more), and a compressed one of at most
 * DECOMPRESS_ON_LOOP_MAX_BYTES decompressed, synchronously; a larger one is decompressed on the thread
 * pool (at most MAX_CONCURRENT_DECOMPRESSIONS at once): a promise. Throws an UndecompressableError
 * when its `content-encoding` is unknown or a small body does not decompress (within the cap); the
 * promise rejects with one when a large body does not.
 */
export function decodePayload(content: Buffer, contentEncoding: unknown, maxBytes: number): Buffer | Promise<Buffer> {
  const coding = contentCodingOf(contentEncoding);
  if (coding === 'identity') return content;
  if (coding === undefined) throw unknownEncoding(contentEncoding);
  if (content.length <= DECOMPRESS_ON_LOOP_MAX_BYTES) return decompressSync(coding, content, contentEncoding, maxBytes);
  return decompressions
    .run<Buffer>((done) => {
      if (coding === 'gzip') gunzip(content, { maxOutputLength: maxBytes, chunkSize: DECOMPRESS_CHUNK_BYTES }, done);
      else brotliDecompress(content, { maxOutputLength: maxBytes, chunkSize: DECOMPRESS_CHUNK_BYTES }, done);
    })
    .catch((error: Error) => {
      throw failed(coding, contentEncoding, content.length, maxBytes, error);
    });
}

/**
 * `decodePayload` on the event loop whatever the size, for what cannot wait (the dead-letter listing,
 * which shows messages on request, one at a time): the same rules and cap. Throws an
 * UndecompressableError.
 */
export function decodePayloadSync(content: Buffer, contentEncoding: unknown, maxBytes: number): Buffer {
  const coding = contentCodingOf(contentEncoding);
  if (coding === 'identity') return content;
  if (coding === undefined) throw unknownEncoding(contentEncoding);
  return decompressSync(coding, content, contentEncoding, maxBytes);
}

function decompressSync(
  coding: CompressionEncoding,
  content: Buffer,
  contentEncoding: unknown,
  maxBytes: number,
): Buffer {
  try {
    return coding === 'gzip'
      ? gunzipSync(content, { maxOutputLength: maxBytes, chunkSize: DECOMPRESS_CHUNK_BYTES })
      : brotliDecompressSync(content, { maxOutputLength: maxBytes, chunkSize: DECOMPRESS_CHUNK_BYTES });
  } catch (error) {
    throw failed(coding, contentEncoding, content.length, maxBytes, error as Error);
  }
}

function unknownEncoding(contentEncoding: unknown): UndecompressableError {
  return new UndecompressableError(
    `content-encoding ${JSON.stringify(contentEncoding)} is not one this consumer reads ` +
      `(gzip, x-gzip or br; identity, utf-8 or none for a plain body)`,
    contentEncoding,
  );
}

function failed(
  coding: CompressionEncoding,
  contentEncoding: unknown,
  size: number,
  maxBytes: number,
  error: Error,
): UndecompressableError {
  const what = `${coding === 'gzip' ? 'gzip' : 'brotli'} body of ${size} bytes (content-encoding ${JSON.stringify(contentEncoding)})`;
  if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
    return new UndecompressableError(
      `${what} decompresses to more than the cap of ${maxBytes} bytes (${formatBytes(maxBytes)}): refused, not expanded further`,
      contentEncoding,
      true,
    );
  }
  return new UndecompressableError(`${what} does not decompress: ${error.message}`, contentEncoding);
}

function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10} ${unit}`;
  }
  return `${bytes} B`;
}
