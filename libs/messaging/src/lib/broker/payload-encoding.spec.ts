import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { brotliCompressSync, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import {
  COMPRESS_ON_LOOP_MAX_BYTES,
  contentCodingOf,
  DECOMPRESS_ON_LOOP_MAX_BYTES,
  decodePayload,
  decodePayloadSync,
  encodePayload,
  PLAIN_ENCODING,
  UndecompressableError,
  type CompressionOptions,
  type EncodedPayload,
} from './payload-encoding';

const GZIP: CompressionOptions = { minBytes: 8192, encoding: 'gzip' };
const BR: CompressionOptions = { minBytes: 8192, encoding: 'br' };
const MiB = 2 ** 20;

/** JSON of about `bytes`, as an event of many order lines (repetitive enough to compress, not trivially). */
function json(bytes: number): Buffer {
  const lines: string[] = [];
  let length = 2; // the brackets; each line's text and its comma counted as it is added (not re-serialized)
  for (let i = 0; length < bytes; i++) {
    const line = JSON.stringify({
      sku: `SKU-${(i * 7919) % 100_000}`,
      quantity: (i % 13) + 1,
      unitPrice: (i * 131) % 9999,
      n: i,
    });
    lines.push(line);
    length += line.length + (i > 0 ? 1 : 0);
  }
  return Buffer.from(`{"type":"order.large-placed","data":{"lines":[${lines.join(',')}]}}`);
}

/** What a reader makes of an encoded payload (the consumer's decode). */
const read = async (payload: EncodedPayload) => decodePayload(payload.content, payload.contentEncoding, 16 * MiB);

/** `decodePayload` as a promise, whether it threw at once or its promise rejects. */
const decoded = (content: Buffer, encoding: unknown, maxBytes: number) =>
  Promise.resolve().then(() => decodePayload(content, encoding, maxBytes));

/** A corrupt gzip stream larger than DECOMPRESS_ON_LOOP_MAX_BYTES: a good header, then noise. */
const largeCorrupt = () => Buffer.concat([gzipSync(Buffer.from('{}')).subarray(0, 10), randomBytes(32 * 1024)]);

/** `gzip` of `bytes` zeros, built streaming: the expanded bytes are never held. */
async function gzipBomb(bytes: number): Promise<Buffer> {
  const zeros = Buffer.alloc(MiB);
  const chunks = Readable.from(
    (function* () {
      for (let left = bytes; left > 0; left -= zeros.length)
        yield left >= zeros.length ? zeros : zeros.subarray(0, left);
    })(),
  );
  const parts: Buffer[] = [];
  for await (const part of chunks.pipe(createGzip({ level: 9 }))) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('payload encoding', () => {
  describe('encodePayload (the relay)', () => {
    it('leaves a body of at most minBytes plain, as utf-8, synchronously and untouched', () => {
      const body = json(1000);
      const encoded = encodePayload(body, GZIP);
      expect(encoded).toEqual({ content: body, contentEncoding: PLAIN_ENCODING, savedBytes: 0 });
      expect((encoded as EncodedPayload).content).toBe(body);
      const exactly = json(8192).subarray(0, 8192);
      expect((encodePayload(exactly, GZIP) as EncodedPayload).contentEncoding).toBe('utf-8');
    });

    it('sends everything plain when compression is off', () => {
      expect(encodePayload(json(MiB), undefined)).toMatchObject({ contentEncoding: 'utf-8', savedBytes: 0 });
    });

    it('gzips a body over minBytes, synchronously while it is small, and it reads back the same', async () => {
      const body = json(10_000);
      const encoded = encodePayload(body, GZIP);
      expect(encoded).not.toBeInstanceOf(Promise);
      const { content, contentEncoding, savedBytes } = encoded as EncodedPayload;
      expect(contentEncoding).toBe('gzip');
      expect(savedBytes).toBe(body.length - content.length);
      expect(content.length).toBeLessThan(body.length / 3);
      expect(gunzipSync(content).equals(body)).toBe(true);
      expect((await read(encoded as EncodedPayload)).equals(body)).toBe(true);
    });

    it('compresses a large body off the event loop (a promise), with gzip or brotli', async () => {
      const body = json(COMPRESS_ON_LOOP_MAX_BYTES * 4);
      for (const options of [GZIP, BR]) {
        const encoded = encodePayload(body, options);
        expect(encoded).toBeInstanceOf(Promise);
        const payload = await encoded;
        expect(payload.contentEncoding).toBe(options.encoding);
        expect(payload.content.length).toBeLessThan(body.length / 3);
        expect((await read(payload)).equals(body)).toBe(true);
      }
    });

    it('sends a body plain when compressing does not make it smaller', async () => {
      const noise = randomBytes(20_000);
      expect(await encodePayload(noise, { minBytes: 0, encoding: 'gzip' })).toMatchObject({
        contentEncoding: 'utf-8',
        savedBytes: 0,
      });
    });
  });

  describe('contentCodingOf', () => {
    it.each([
      [undefined, 'identity'],
      [null, 'identity'],
      ['', 'identity'],
      ['utf-8', 'identity'],
      ['UTF-8', 'identity'],
      ['utf8', 'identity'],
      ['identity', 'identity'],
      ['gzip', 'gzip'],
      ['GZip', 'gzip'],
      ['x-gzip', 'gzip'],
      ['br', 'br'],
      ['deflate', undefined],
      ['base64', undefined],
      ['utf-16', undefined],
      ['gzip, br', undefined],
      [' gzip', undefined],
      [42, undefined],
    ])('reads content-encoding %j as %s', (encoding, coding) => {
      expect(contentCodingOf(encoding)).toBe(coding);
    });
  });

  describe('decodePayload (the readers)', () => {
    const event = Buffer.from('{"specversion":"1.0"}');

    it('returns a plain body itself, synchronously', () => {
      expect(decodePayload(event, undefined, 100)).toBe(event);
      expect(decodePayload(event, 'utf-8', 100)).toBe(event);
      expect(decodePayloadSync(event, 'identity', 100)).toBe(event);
    });

    it('decompresses a small gzip or brotli body on the event loop, a large one off it', async () => {
      const small = decodePayload(gzipSync(event), 'gzip', 100);
      expect(small).toBeInstanceOf(Buffer);
      expect((small as Buffer).equals(event)).toBe(true);
      expect((decodePayload(gzipSync(event), 'x-gzip', 100) as Buffer).equals(event)).toBe(true);
      expect((decodePayload(brotliCompressSync(event), 'br', 100) as Buffer).equals(event)).toBe(true);
      expect(decodePayloadSync(brotliCompressSync(event), 'br', 100).equals(event)).toBe(true);

      const body = randomBytes(DECOMPRESS_ON_LOOP_MAX_BYTES * 2);
      for (const [encoding, content] of [
        ['gzip', gzipSync(body)],
        ['br', brotliCompressSync(body)],
      ] as const) {
        expect(content.length).toBeGreaterThan(DECOMPRESS_ON_LOOP_MAX_BYTES);
        const large = decodePayload(content, encoding, MiB);
        expect(large).toBeInstanceOf(Promise);
        expect((await large).equals(body)).toBe(true);
      }
    });

    it('refuses a large corrupt body in its promise', async () => {
      const large = decodePayload(largeCorrupt(), 'gzip', MiB);
      expect(large).toBeInstanceOf(Promise);
      await expect(large).rejects.toThrow(/gzip body of 32778 bytes \(content-encoding "gzip"\) does not decompress/);
    });

    it.each([
      [
        'a plain body said to be gzip',
        event,
        'gzip',
        /gzip body of 21 bytes \(content-encoding "gzip"\) does not decompress: incorrect header check/,
      ],
      [
        'a plain body said to be brotli',
        event,
        'br',
        /brotli body of 21 bytes \(content-encoding "br"\) does not decompress/,
      ],
      [
        'a gzip stream cut short',
        gzipSync(event).subarray(0, 20),
        'gzip',
        /does not decompress: unexpected end of file/,
      ],
      ['an empty gzip body', Buffer.alloc(0), 'gzip', /gzip body of 0 bytes .* does not decompress/],
      ['an unknown content-encoding', event, 'zstd', /content-encoding "zstd" is not one this consumer reads/],
    ])('refuses %s at once, with why', (_case, content, encoding, message) => {
      expect(() => decodePayload(content, encoding, MiB)).toThrow(UndecompressableError);
      expect(() => decodePayload(content, encoding, MiB)).toThrow(message);
      expect(() => decodePayloadSync(content, encoding, MiB)).toThrow(message);
    });

    it('refuses a body that decompresses to more than the cap, naming the cap', async () => {
      const body = json(4096);
      await expect(decoded(gzipSync(body), 'gzip', 4095)).rejects.toMatchObject({
        name: 'UndecompressableError',
        overCap: true,
        message: expect.stringMatching(/decompresses to more than the cap of 4095 bytes \(4 KiB\): refused/),
      });
      expect((await decoded(gzipSync(body), 'gzip', body.length)).equals(body)).toBe(true);
      expect(() => decodePayloadSync(brotliCompressSync(body), 'br', 100)).toThrow(/more than the cap of 100 bytes/);
    });

    it('refuses a small zip bomb (64 MiB of zeros in 106 bytes of brotli) at the cap, on the event loop', () => {
      const bomb = brotliCompressSync(Buffer.alloc(64 * MiB));
      expect(bomb.length).toBeLessThan(200);
      expect(() => decodePayload(bomb, 'br', 16 * MiB)).toThrow(/decompresses to more than the cap of 16777216 bytes/);
    });

    it('refuses a zip bomb (1 GiB of zeros in 1 MiB of gzip) at the cap, without expanding it', async () => {
      const bomb = await gzipBomb(2 ** 30);
      expect(bomb.length).toBeLessThan(1.1 * MiB);
      const before = process.memoryUsage();
      const started = performance.now();
      await expect(decodePayload(bomb, 'gzip', 16 * MiB)).rejects.toMatchObject({ overCap: true });
      const elapsedMs = performance.now() - started;
      const after = process.memoryUsage();
      // Stopped at the cap: expanding 1 GiB takes a second or more, and the memory.
      expect(elapsedMs).toBeLessThan(1000);
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(32 * MiB);
    }, 30_000);
  });
});
