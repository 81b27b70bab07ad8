/**
 * Shared by the hostile-input suites (test/fuzz/): how many runs a property gets, a raw HTTP/1.1 client that
 * sends exactly the bytes it is given (fetch and http.request refuse or normalise the odd ones an attacker sends),
 * the local system with a few images and records, and a heap probe.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import type { ImageItem } from '../../functions/core/image-item.ts';
import { loadLidoFiles } from '../../functions/harvest/files.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { ROOT } from '../support/processes.ts';

/** The checkout (test/support/processes.ts). */
export const REPO = ROOT;
/** The shared fixtures beside the checkout; the suites that need them skip with a message when absent. */
export const SHARED_FIXTURES = resolve(REPO, '../shared/fixtures');
export const HAVE_SHARED = existsSync(SHARED_FIXTURES);

/**
 * Runs per property: `FUZZ_RUNS` raises (or lowers) every suite's count; each property's default is chosen to
 * keep its file well under a minute on two cores. fast-check prints the seed and the shrunk counterexample of a
 * failure; `FUZZ_SEED` replays one.
 */
export function runs(defaultRuns: number, options: { shrink?: boolean } = {}): { numRuns: number; seed?: number; endOnFailure: boolean } {
  const raised = Number(process.env.FUZZ_RUNS);
  const seed = Number(process.env.FUZZ_SEED);
  return {
    numRuns: Number.isInteger(raised) && raised > 0 ? raised : defaultRuns,
    ...(Number.isInteger(seed) && process.env.FUZZ_SEED ? { seed } : {}),
    // Shrinking an HTTP counterexample costs a request per candidate (tens of thousands for a long string): those
    // properties report the first failure as met unless FUZZ_SHRINK=1.
    endOnFailure: !(options.shrink ?? process.env.FUZZ_SHRINK === '1'),
  };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The status line and headers as received. */
  head: string;
}

/**
 * One request over a fresh connection, `Connection: close`, written byte for byte (`path` and header values are
 * sent as latin-1 bytes, so a test decides exactly what the server sees). Rejects only if the server drops the
 * connection without an answer, or none comes within `limitMs` (a liveness bound: a hung request would otherwise
 * only show as the test's timeout, without the request that hung).
 */
export function rawRequest(
  url: string,
  request: { method: string; path: string; headers?: readonly (readonly [string, string])[]; body?: Buffer | string },
  limitMs = 30_000,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  const lines = [`${request.method} ${request.path} HTTP/1.1`];
  const headers = request.headers ?? [];
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) lines.push(`Host: ${hostname}:${port}`);
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  lines.push('Connection: close');
  if (body) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise((resolvePromise, reject) => {
    const socket = connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${limitMs} ms to ${request.method} ${request.path}`));
    }, limitMs);
    socket.on('connect', () => socket.write(body ? Buffer.concat([head, body]) : head));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer (413 mid-body) is judged by what arrived
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        reject(new Error(`connection closed without an answer to ${request.method} ${JSON.stringify(request.path.slice(0, 200))}`));
        return;
      }
      const headText = all.subarray(0, end).toString('latin1');
      const [statusLine = '', ...headerLines] = headText.split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
      const parsed: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let payload: Buffer = all.subarray(end + 4);
      if (parsed['transfer-encoding']?.toLowerCase() === 'chunked') payload = dechunk(payload);
      resolvePromise({ status, headers: parsed, body: payload, head: headText });
    });
  });
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Percent-encodes every byte of the UTF-8 form that is not an unreserved URL character. */
export function encodeAll(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

export interface FuzzSystem {
  system: LocalSystem;
  /** The data folder: the S3 stand-in's buckets under s3/, the DynamoDB stand-in's files under dynamodb/. */
  dataDir: string;
  /** Identifiers of the images ingested, with their published revision. */
  open: ImageItem;
  restricted: ImageItem;
  private: ImageItem;
  close(): Promise<void>;
}

/** A small picture (1200×900: above the default 800 px restricted-size limit, a 3-level pyramid). */
export async function smallMaster(): Promise<Buffer> {
  const width = 1200;
  const height = 900;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + (i >> 11)) & 0xff;
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 70 }).toBuffer();
}

export async function waitForItem(system: LocalSystem, identifier: string, until: (item: ImageItem) => boolean = (i) => i.status !== 'processing'): Promise<ImageItem> {
  for (let attempt = 0; attempt < 900; attempt++) {
    await system.queue.idle();
    const item = await system.items.get(identifier);
    if (item && until(item)) return item;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${identifier} was not handled in time`);
}

/**
 * The one-machine system (router, Image/Presentation/Auth APIs, web app) with three ingested images — open
 * (`mskgent.be/1829-A.jpg`, linked to the MSK Gent record 1829-A loaded from the repository's fixtures), restricted
 * (`in-copyright: yes`) and private (`cleared-for-public-use: no`) — and a few real LIDO records.
 */
export async function startFuzzSystem(name: string): Promise<FuzzSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), `imagehub-fuzz-${name}-`));
  const system = await startLocalSystem({ dataDir, port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH } });
  try {
    await loadLidoFiles({ paths: [join(REPO, 'test/fixtures/datahub/vkc-imagehub-fixes')], records: system.stores.records });
    const master = await smallMaster();
    await system.ingest.putBody('mskgent.be/1829-A.jpg', master, { contentType: 'image/jpeg' });
    await system.ingest.putBody('fuzz/restricted.jpg', master, { contentType: 'image/jpeg', metadata: { 'in-copyright': 'yes' } });
    await system.ingest.putBody('fuzz/private.jpg', master, { contentType: 'image/jpeg', metadata: { 'cleared-for-public-use': 'no' } });
    const ready = (item: ImageItem) => item.status === 'ready' || item.status === 'failed';
    const [open, restricted, privateItem] = await Promise.all(['mskgent.be:1829-A', 'fuzz:restricted', 'fuzz:private'].map((id) => waitForItem(system, id, ready)));
    for (const item of [open!, restricted!, privateItem!]) if (item.status !== 'ready') throw new Error(`${item.identifier}: ${item.status} ${item.reason ?? ''}`);
    return {
      system,
      dataDir,
      open: open!,
      restricted: restricted!,
      private: privateItem!,
      close: async () => {
        await system.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await system.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The V8 collector, exposed at run time (vitest's forks do not start with --expose-gc). */
const collect: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Heap in use after a full collection: what the process still holds, not garbage not yet collected. */
export function heapUsed(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

export const MB = 1024 * 1024;

/** Every key of a bucket (the stand-in's buckets are small). */
export async function listKeys(system: LocalSystem, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await system.s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * Peak resident set and JavaScript memory (heap plus array buffers) of this process while `work` runs, above what
 * it was before: what a bomb made the process hold, native (libvips) or not.
 */
export async function peakMemoryDuring<T>(work: () => Promise<T>): Promise<{ result: T; rss: number; js: number }> {
  const js = () => {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  heapUsed();
  const before = { rss: process.memoryUsage().rss, js: js() };
  const peak = { ...before };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.rss = Math.max(peak.rss, usage.rss);
    peak.js = Math.max(peak.js, usage.heapUsed + usage.arrayBuffers);
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await work();
    sample();
    return { result, rss: peak.rss - before.rss, js: peak.js - before.js };
  } finally {
    clearInterval(timer);
  }
}
