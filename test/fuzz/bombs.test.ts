/**
 * Generated bombs, refused cleanly.
 *
 *  - XML: 100 000 nested elements (and the stray-end-tag and unclosed variants), billion laughs (nested internal
 *    entities), external entities (XXE) naming a local file: every parser answers — records, skips with reasons or
 *    OaiProtocolError — promptly, expands nothing and reads no file.
 *  - OAI-PMH: a harvested page of 256 MB streamed without Content-Length, a page declaring 200 MB, and a page of a
 *    million records: the harvester stops with the page-size reason (functions/harvest/harvest.ts,
 *    DEFAULT_MAX_PAGE_BYTES) without buffering it, checkpoint intact, nothing written.
 *  - Images whose headers declare huge dimensions (PNG IHDR 100000×100000, JPEG SOF 65500×65500, TIFF 1000000²,
 *    GIF 65535², WebP VP8X 16384²) dropped into the ingest: each item ends `failed` with a reason, nothing is
 *    published (no file in the derivative or protected store names it), and the process's memory stays bounded.
 *
 * Complements test/integration/ingest.test.ts, which ingests the real hostile files of ../shared/fixtures/images/hostile.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapLidoRecord, parseLidoDocument } from '../../functions/core/lido.ts';
import { OaiProtocolError, parseOaiResponse } from '../../functions/core/oai-pmh.ts';
import { DEFAULT_MAX_PAGE_BYTES, runHarvest, type Fetch } from '../../functions/harvest/harvest.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { listKeys, MB, peakMemoryDuring, waitForItem } from './support.ts';

const LIDO = 'http://www.lido-schema.org';

// ---------------------------------------------------------------------------------------------------------------
// XML

/** Each parser's answer, reduced to whether it kept its contract (a result or its documented refusal). */
function everyParser(xml: string): { lido: ReturnType<typeof parseLidoDocument>; mapped: ReturnType<typeof mapLidoRecord>; oai: string } {
  const lido = parseLidoDocument(xml);
  const mapped = mapLidoRecord(xml);
  let oai: string;
  try {
    oai = JSON.stringify(parseOaiResponse(xml));
  } catch (error) {
    if (!(error instanceof OaiProtocolError)) throw error;
    oai = `refused: ${error.message}`;
  }
  return { lido, mapped, oai };
}

function expectNoHugeString(value: unknown, limit: number): void {
  const text = JSON.stringify(value);
  expect(text.length, 'the answer holds an expanded entity').toBeLessThan(limit);
}

describe('XML bombs', () => {
  const deep = (open: string, close: string, n: number) => `<lido:lido xmlns:lido="${LIDO}">${open.repeat(n)}${close.repeat(n)}</lido:lido>`;

  it.each([
    ['100 000 nested elements', deep('<a>', '</a>', 100_000)],
    ['100 000 nested elements closed by stray end tags', deep('<a>', '</b>', 100_000)],
    ['100 000 alternately nested elements, half unclosed', deep('<a><b>', '</a>', 50_000)],
    ['300 000 unclosed elements', `<lido:lido xmlns:lido="${LIDO}">${'<a>'.repeat(300_000)}`],
    ['300 000 end tags without a start', `<lido:lido xmlns:lido="${LIDO}">${'</'.repeat(300_000)}`],
    ['an OAI-PMH envelope nested 100 000 deep', `<OAI-PMH><ListRecords>${'<record>'.repeat(100_000)}${'</record>'.repeat(100_000)}</ListRecords></OAI-PMH>`],
  ])('%s: refused with a reason, in linear time', (_name, xml) => {
    const { lido, mapped, oai } = everyParser(xml);
    expect(lido.records.filter((r) => r.xml !== undefined)).toEqual([]);
    expect(lido.skipped.length + lido.documentErrors.length).toBeGreaterThan(0);
    for (const skipped of lido.skipped) expect(skipped.reason.length).toBeGreaterThan(0);
    if (!mapped.ok) expect(mapped.skipped.reason.length).toBeGreaterThan(0);
    expect(oai).toMatch(/^refused: |"records":\[\]/);
  });

  /** Nine levels of ten references: 10⁹ copies of "lol" (3 GB) if expanded. */
  const entities = ['<!ENTITY lol0 "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`)].join('');

  it('billion laughs in a LIDO record and in an OAI-PMH envelope: nothing is expanded', () => {
    const record = `<?xml version="1.0"?><!DOCTYPE lido [${entities}]><lido:lido xmlns:lido="${LIDO}"><lido:lidoRecID>&lol9;</lido:lidoRecID><lido:descriptiveMetadata><lido:objectIdentificationWrap><lido:titleWrap><lido:titleSet><lido:appellationValue>&lol9;</lido:appellationValue></lido:titleSet></lido:titleWrap></lido:objectIdentificationWrap></lido:descriptiveMetadata></lido:lido>`;
    const envelope = `<?xml version="1.0"?><!DOCTYPE OAI-PMH [${entities}]><OAI-PMH><responseDate>&lol9;</responseDate><ListRecords><record><header><identifier>&lol9;</identifier><datestamp>2026-01-01</datestamp></header><metadata>${record.slice(record.indexOf('<lido:lido'))}</metadata></record></ListRecords></OAI-PMH>`;
    for (const xml of [record, envelope]) {
      const before = process.memoryUsage().heapUsed;
      const answers = everyParser(xml);
      expectNoHugeString(answers, 100_000);
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(256 * MB);
    }
  });

  it('external entities (XXE) are never read: the file\'s contents appear in no answer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagehub-xxe-'));
    try {
      const secret = join(dir, 'secret.txt');
      const marker = 'XXE-MARKER-7f3a9c';
      writeFileSync(secret, marker);
      for (const systemId of [`file://${secret}`, secret, 'http://127.0.0.1:9/never', `file://${secret}#`]) {
        const record = `<?xml version="1.0"?><!DOCTYPE lido [<!ENTITY xxe SYSTEM "${systemId}">]><lido:lido xmlns:lido="${LIDO}"><lido:lidoRecID>&xxe;</lido:lidoRecID><lido:x>&xxe;</lido:x></lido:lido>`;
        const envelope = `<?xml version="1.0"?><!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "${systemId}">]><OAI-PMH><responseDate>&xxe;</responseDate><ListRecords><record><header><identifier>&xxe;</identifier><datestamp>2026-01-01</datestamp></header><metadata>${record.slice(record.indexOf('<lido:lido'))}</metadata></record></ListRecords></OAI-PMH>`;
        const parameterEntity = `<?xml version="1.0"?><!DOCTYPE lido [<!ENTITY % p SYSTEM "${systemId}"> %p;]><lido:lido xmlns:lido="${LIDO}"><lido:lidoRecID>r</lido:lidoRecID></lido:lido>`;
        for (const xml of [record, envelope, parameterEntity]) expect(JSON.stringify(everyParser(xml))).not.toContain(marker);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The system, for the harvest and ingest bombs

let system: LocalSystem;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'imagehub-fuzz-bombs-'));
  system = await startLocalSystem({ dataDir, port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH } });
}, 120_000);

afterAll(async () => {
  await system?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// OAI-PMH pages

const RECORD = (n: number) =>
  `<record><header><identifier>oai:bomb:${n}</identifier><datestamp>2026-01-01T00:00:00Z</datestamp></header><metadata><lido:lido xmlns:lido="${LIDO}"><lido:lidoRecID>bomb-${n}</lido:lidoRecID></lido:lido></metadata></record>\n`;

/** A page streamed in 64 KB chunks, generated as it is read: the test itself never holds it. */
function streamedPage(totalBytes: number, chunkOf: (offset: number) => string): ReadableStream<Uint8Array> {
  let sent = 0;
  const head = new TextEncoder().encode('<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z</responseDate><ListRecords>\n');
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) {
        controller.enqueue(head);
        sent += head.length;
        return;
      }
      if (sent >= totalBytes) {
        controller.enqueue(new TextEncoder().encode('<resumptionToken/></ListRecords></OAI-PMH>'));
        controller.close();
        return;
      }
      const chunk = new TextEncoder().encode(chunkOf(sent));
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

async function harvestOnePage(source: string, response: () => Response) {
  let requests = 0;
  const fetch: Fetch = async () => {
    requests++;
    return response();
  };
  const run = await peakMemoryDuring(() =>
    runHarvest({ fetch, source, baseUrl: `https://bomb.example/${source}`, records: system.stores.records, state: system.stores.harvestState, mode: 'full', retry: { maxAttempts: 2, baseDelayMs: 1 } }),
  );
  return { ...run, requests };
}

describe('enormous OAI-PMH pages', () => {
  const filler = (offset: number) => {
    // ~64 KB of records per chunk, numbered from the offset so they differ.
    let out = '';
    for (let n = offset; out.length < 65_536; n++) out += RECORD(n);
    return out;
  };

  it('a 256 MB page streamed without Content-Length stops the run with the page-size reason, unbuffered', async () => {
    const { result: report, js, requests } = await harvestOnePage('bomb-streamed', () => new Response(streamedPage(256 * MB, filler), { status: 200, headers: { 'content-type': 'text/xml' } }));
    expect(report.complete).toBe(false);
    expect(report.stoppedBecause).toMatch(/larger than \d+ bytes \(the page size limit\)/);
    expect(report.added).toBe(0);
    expect(requests).toBe(1); // a page too large is not retried: it would be as large again
    // What was held: at most the limit (32 MB) and the decoding around it; the page itself is 256 MB.
    expect(js, `JavaScript memory grew by ${(js / MB).toFixed(0)} MB`).toBeLessThan(DEFAULT_MAX_PAGE_BYTES + 64 * MB);
    const state = await system.stores.harvestState.get('bomb-streamed');
    expect(state?.lastSuccess).toBeUndefined();
  }, 120_000);

  it('a page declaring 200 MB is refused before it is read', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(65_536));
      },
    });
    const { result: report } = await harvestOnePage('bomb-declared', () => new Response(body, { status: 200, headers: { 'content-length': String(200 * MB) } }));
    expect(report.complete).toBe(false);
    expect(report.stoppedBecause).toMatch(/larger than/);
    expect(pulled).toBeLessThanOrEqual(2); // the stream's own read-ahead at most
  }, 60_000);

  it('a page of a million records is refused by size, not parsed record by record', async () => {
    const record = RECORD(0).length;
    const { result: report } = await harvestOnePage('bomb-million', () => new Response(streamedPage(1_000_000 * record, filler), { status: 200 }));
    expect(1_000_000 * record).toBeGreaterThan(DEFAULT_MAX_PAGE_BYTES);
    expect(report.complete).toBe(false);
    expect(report.stoppedBecause).toMatch(/larger than/);
    expect(report.added + report.updated).toBe(0);
  }, 120_000);

  it('a page under the limit is harvested as before (the limit refuses only what exceeds it)', async () => {
    const page = `<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z</responseDate><ListRecords>${RECORD(1)}${RECORD(2)}<resumptionToken/></ListRecords></OAI-PMH>`;
    const { result: report } = await harvestOnePage('bomb-small', () => new Response(page, { status: 200 }));
    expect(report.stoppedBecause).toBeUndefined();
    expect(report.complete).toBe(true);
    expect(report.added + report.skipped).toBe(2);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------------------
// Images with huge declared dimensions

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG whose IHDR claims width×height RGB, with a few rows of real (zero) data. */
function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc(Math.min(4, height) * (1 + width * 3)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', rows), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A baseline JPEG whose SOF0 claims width×height, three components, then a scan of junk. */
function jpegBomb(width: number, height: number): Buffer {
  const dqt = Buffer.concat([Buffer.from([0xff, 0xdb, 0x00, 0x43, 0x00]), Buffer.alloc(64, 1)]);
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00]);
  // A DC and an AC table of one code each: enough for a decoder to start, then run out of data.
  const dht = Buffer.from([0xff, 0xc4, 0x00, 0x14, 0x00, 1, ...Array(15).fill(0), 0x00, 0xff, 0xc4, 0x00, 0x14, 0x10, 1, ...Array(15).fill(0), 0x00]);
  const sos = Buffer.from([0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x3f, 0x00]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), dqt, sof, dht, sos, Buffer.alloc(256, 0x55), Buffer.from([0xff, 0xd9])]);
}

/** A little-endian TIFF whose one strip claims width×height 8-bit grey, uncompressed. */
function tiffBomb(width: number, height: number): Buffer {
  const entries: [number, number, number][] = [
    [256, 4, width], [257, 4, height], [258, 3, 8], [259, 3, 1], [262, 3, 1], [273, 4, 0], [277, 3, 1], [278, 4, height], [279, 4, 0xffffffff],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const dataOffset = 8 + ifdSize;
  const out = Buffer.alloc(dataOffset + 64);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(8, 4);
  out.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const at = 10 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(1, at + 4);
    if (type === 3) out.writeUInt16LE(value, at + 8);
    else out.writeUInt32LE(tag === 273 ? dataOffset : value, at + 8);
  });
  return out;
}

/** A GIF whose screen and one frame claim width×height, with a tiny LZW stream. */
function gifBomb(width: number, height: number): Buffer {
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0x80; // a global colour table of two entries
  const descriptor = Buffer.alloc(10);
  descriptor[0] = 0x2c;
  descriptor.writeUInt16LE(width, 5);
  descriptor.writeUInt16LE(height, 7);
  return Buffer.concat([Buffer.from('GIF89a', 'latin1'), screen, Buffer.from([0, 0, 0, 255, 255, 255]), descriptor, Buffer.from([0x02, 0x02, 0x44, 0x01, 0x00, 0x3b])]);
}

/** A WebP whose VP8X header claims a width×height canvas and holds no image data. */
function webpBomb(width: number, height: number): Buffer {
  const vp8x = Buffer.alloc(18);
  vp8x.write('VP8X', 0, 'latin1');
  vp8x.writeUInt32LE(10, 4);
  vp8x.writeUIntLE(width - 1, 12, 3);
  vp8x.writeUIntLE(height - 1, 15, 3);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + vp8x.length, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, vp8x]);
}

describe('images declaring huge dimensions', () => {
  const bombs: [string, Buffer][] = [
    ['bombs/png-100000x100000.png', pngBomb(100_000, 100_000)],
    ['bombs/png-1x2000000000.png', pngBomb(1, 2_000_000_000)],
    ['bombs/jpeg-65500x65500.jpg', jpegBomb(65_500, 65_500)],
    ['bombs/tiff-1000000x1000000.tif', tiffBomb(1_000_000, 1_000_000)],
    ['bombs/gif-65535x65535.gif', gifBomb(65_535, 65_535)],
    ['bombs/webp-16384x16384.webp', webpBomb(16_384, 16_384)],
  ];

  it('each ends failed with a reason, nothing is published, and memory stays bounded', async () => {
    const { result: items, rss } = await peakMemoryDuring(async () => {
      for (const [key, bytes] of bombs) await system.ingest.putBody(key, bytes, { contentType: 'application/octet-stream' });
      return Promise.all(bombs.map(([key]) => waitForItem(system, key.replace(/\.\w+$/, '').replace('/', ':'), (item) => item.status !== 'processing')));
    });
    const reasons = items.map((item) => `${item.identifier}: ${item.status} — ${item.reason ?? ''}`);
    console.log(`image bombs (peak RSS +${(rss / MB).toFixed(0)} MB):\n${reasons.join('\n')}`);
    for (const item of items) {
      expect(item.status, item.identifier).toBe('failed');
      expect(item.reason?.split(' ').length, `${item.identifier}: ${item.reason}`).toBeGreaterThan(3);
      expect(item.published).toBeUndefined();
    }
    // The declared sizes are 0.27 to 10⁶ megapixels: decoding any of them would take gigabytes.
    expect(rss, `peak RSS grew by ${(rss / MB).toFixed(0)} MB`).toBeLessThan(768 * MB);
    const published = [...(await listKeys(system, system.settings.derivativeBucket)), ...(await listKeys(system, system.settings.protectedBucket!))];
    expect(published.filter((key) => key.includes('bombs:'))).toEqual([]);
  }, 180_000);
});
