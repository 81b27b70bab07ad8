/**
 * Hostile HTTP: every route of the one-machine server (the CDN's static mapping, the Image API 2.1 and 3.0, the
 * Presentation API, the Auth 2.0 services, the web app and its JSON API, the viewer pages) is sent
 * fast-check–generated requests over a raw socket — odd bytes and malformed percent-encoding in every path segment,
 * arbitrary query strings, methods, bodies, and hostile Cookie / Authorization / Host / X-Forwarded-* headers —
 * against the real system with an open, a restricted and a private image and real LIDO records. Every answer:
 *
 *  - arrives (no hang, no connection dropped without an answer);
 *  - is never a 5xx caused by the input (the server is healthy: storage faults are not injected here);
 *  - when it refuses (4xx) with a body-bearing method, says why (a non-empty body);
 *  - never leaks the private image: no 200 with image bytes or its info.json without a session.
 *
 * No unhandled rejection or uncaught exception happens meanwhile, and the server still answers afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isIdentifier } from '../../functions/core/identifier.ts';
import { encodeAll, rawRequest, runs, startFuzzSystem, type FuzzSystem, type RawAnswer } from './support.ts';

let fuzz: FuzzSystem;
let url: string;
const processFaults: string[] = [];
const onRejection = (reason: unknown) => processFaults.push(`unhandled rejection: ${String(reason)}`);
const onException = (error: Error) => processFaults.push(`uncaught exception: ${error.message}`);
const tally = { requests: 0, refusedByNode: 0, byStatus: new Map<number, number>() };

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  fuzz = await startFuzzSystem('http');
  url = fuzz.system.url;
}, 180_000);

afterAll(async () => {
  await fuzz?.close();
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  if (firstFailures.length > 0) console.log(`first failures:\n${firstFailures.join('\n')}`);
  console.log(`http fuzz: ${tally.requests} requests (${tally.refusedByNode} refused by Node's HTTP parser); statuses ${[...tally.byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
});

// ---------------------------------------------------------------------------------------------------------------
// Generators

/** Fragments that have broken path handling somewhere, some time. */
const HOSTILE_FRAGMENTS = [
  '..', '.', './', '../', '%2e%2e', '%2E%2E%2F', '%2F', '%252F', '%5C', '\\', '%00', '%', '%%', '%zz', '%E0%A4%A', '%C0%AF',
  '%FF', '%ED%A0%80', '~', '~~', '~1~', '~abc~800', ':', '::', 'a:..:b', '__proto__', 'constructor', 'prototype', 'info.json',
  'manifest.json', 'top.json', '%20', '+', ';', ',', '!', '^', 'pct:', 'NaN', 'Infinity', '-1', '1e999', '0x10', '9'.repeat(40),
  'x'.repeat(300), 'é', '%C3%A9', '\u0000', '\u202e', '\ud800', 'iiif', 'api', '*', '{id}', '<script>', '"\'',
];

/** Percent-encodes only what an HTTP request line cannot carry (controls, space, non-ASCII, `#`, `?`); `%` stays raw. */
function lightEncode(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && char !== '#' && char !== '?') out += char;
    else out += encodeAll(char); // a lone surrogate is encoded as U+FFFD's bytes
  }
  return out;
}

const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_FRAGMENTS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...HOSTILE_FRAGMENTS), { maxLength: 6 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1000, maxLength: 5000 }) },
  // Few characters, many bytes: limits counted in characters let 4-byte characters past byte limits.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 80, max: 320 }), fc.constantFrom('\u{1F600}', '\u{10FFFF}', 'é')).map(([n, c]) => c.repeat(n)) },
);

/** A path segment as an attacker writes it: verbatim-ish (raw `%`, `/`, `~`), fully encoded, or double-encoded. */
const segment = fc.oneof(text.map(lightEncode), text.map(encodeAll), text.map((t) => encodeAll(encodeAll(t))));

const query = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom('q', 'from', 'institution', 'objectNumber', 'dataPid', 'workPid', 'recordId', 'limit', 'since', 'key', 'manifest', 'lang', 'origin', 'messageId', 'access', 'folder'), segment), segment), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

const REGIONS = ['full', 'square', '0,0,512,512', 'pct:10,10,50,50', '1199,899,1,1', '0,0,0,0', '99999,0,10,10', 'pct:0,0,100.0000001,100'];
const SIZES = ['max', '^max', 'full', '512,', ',512', 'pct:50', '^pct:300', '!800,800', '^!99999,99999', '1,1', '0,', '65536,65536', '^16384,'];
const ROTATIONS = ['0', '!0', '90', '180.5', '360', '!359.999', '361', '-90', '1e2', '.5'];
const QUALITY_FORMATS = ['default.jpg', 'color.png', 'gray.webp', 'bitonal.tif', 'default.gif', 'default.jp2', 'default.pdf', 'native.jpg', 'default.', '.jpg', 'default'];

function imageParam(values: readonly string[]) {
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: segment });
}

interface Generated {
  method: string;
  path: string;
  headers: [string, string][];
  body?: Buffer;
}

/** A header value HTTP can carry (no CR, LF or other controls but tab): what reaches the application. */
const headerValue = fc.oneof(
  fc.constantFrom('', 'imagehub-access=junk', 'imagehub-access=a.b.c; imagehub-access=', 'Bearer ', 'Bearer x.y.z', 'Basic Zm9vOmJhcg==', 'evil.example', 'localhost:0', '127.0.0.1, 10.0.0.1', 'https', '"*"', 'W/"x"', 'bytes=0-1', 'bytes=99999999-', 'null', 'https://evil.example'),
  fc.string({ unit: 'binary-ascii', maxLength: 200 }).map((s) => s.replace(/\p{Cc}/gu, (c) => (c === '\t' ? c : ''))),
  fc.string({ unit: 'grapheme-ascii', minLength: 1000, maxLength: 3000 }),
);
const HEADER_NAMES = ['Cookie', 'Authorization', 'Host', 'X-Forwarded-Host', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Imagehub-Viewer-Host', 'If-None-Match', 'Range', 'Origin', 'Accept', 'Content-Type', 'Accept-Language', 'Referer'];
const headers = fc.uniqueArray(fc.tuple(fc.constantFrom(...HEADER_NAMES), headerValue), { maxLength: 4, selector: ([name]) => name.toLowerCase() });
const method = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('GET') }, { weight: 4, arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'PURGE', 'SEARCH', 'LOCK') });
const body = fc.option(
  fc.oneof(
    fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
    fc.tuple(segment, segment).map(([password, origin]) => Buffer.from(`password=${password}&origin=${origin}`)),
    fc.constant(Buffer.alloc(20_000, 0x61)), // over the Auth body bound
  ),
  { nil: undefined },
);

function request(pathArbitrary: fc.Arbitrary<string>): fc.Arbitrary<Generated> {
  return fc.record({ method, path: pathArbitrary, headers, body }).map((r) => ({ ...r, ...(r.body ? { body: r.body } : {}) }));
}

/** Identifiers the system knows (plain, revision, substitute), unknown ones and hostile ones. */
function identifier(): fc.Arbitrary<string> {
  const { open, restricted, private: hidden } = fuzz;
  const known = [
    open.identifier, `${open.identifier}~${open.published!.revision}`, restricted.identifier, `${restricted.identifier}~${restricted.published!.revision}`,
    ...(restricted.published!.substitute ? [encodeURIComponent(restricted.published!.substitute.identifier)] : []),
    hidden.identifier, `${hidden.identifier}~${hidden.published!.revision}`, 'unknown:image', `${open.identifier}~nope`, `${open.identifier}~${open.published!.revision}~800`,
  ];
  return fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: segment }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...known), segment).map(([k, s]) => `${k}${s}`) });
}

const version = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('2', '3') }, { weight: 1, arbitrary: segment });

function imageApiPaths(): fc.Arbitrary<string> {
  const id = identifier();
  return fc.oneof(
    fc.tuple(version, id).map(([v, i]) => `/iiif/${v}/${i}`),
    fc.tuple(version, id).map(([v, i]) => `/iiif/${v}/${i}/info.json`),
    fc
      .tuple(version, id, imageParam(REGIONS), imageParam(SIZES), imageParam(ROTATIONS), imageParam(QUALITY_FORMATS))
      .map(([v, i, r, s, rot, qf]) => `/iiif/${v}/${i}/${r}/${s}/${rot}/${qf}`),
    fc.tuple(version, id, fc.array(segment, { maxLength: 7 })).map(([v, i, rest]) => `/iiif/${v}/${i}/${rest.join('/')}`),
  );
}

function presentationPaths(): fc.Arbitrary<string> {
  const objects = fc.oneof(fc.constantFrom('mskgent.be:1829-A', 'mskgent.be:nope', 'mskgent.be', ':', 'kmska.be:257'), segment);
  return fc.oneof(
    fc.tuple(version, objects).map(([v, o]) => `/iiif/presentation/${v}/${o}/manifest.json`),
    fc.tuple(version).map(([v]) => `/iiif/presentation/${v}/collection/top.json`),
    fc.tuple(version, objects).map(([v, o]) => `/iiif/presentation/${v}/collection/${o}.json`),
    fc.tuple(version, objects, objects).map(([v, a, b]) => `/iiif/presentation/${v}/collection/${a}/${b}.json`),
    fc.tuple(version, query).map(([v, q]) => `/iiif/presentation/${v}/lookup${q}`),
    fc.tuple(version, fc.array(segment, { maxLength: 4 }), query).map(([v, rest, q]) => `/iiif/presentation/${v}/${rest.join('/')}${q}`),
  );
}

function authPaths(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(fc.constantFrom('login', 'token', 'logout'), query).map(([service, q]) => `/iiif/auth/${service}${q}`),
    fc.tuple(identifier(), query).map(([i, q]) => `/iiif/auth/probe/${i}${q}`),
    fc.tuple(fc.array(segment, { maxLength: 3 }), query).map(([rest, q]) => `/iiif/auth/${rest.join('/')}${q}`),
  );
}

function webPaths(): fc.Arbitrary<string> {
  const objects = fc.oneof(fc.constantFrom('mskgent.be:1829-A', 'mskgent.be:nope', 'fuzz:private'), segment);
  return fc.oneof(
    fc.tuple(fc.constantFrom('/', '/upload', '/activity', '/api/institutions', '/api/objects', '/api/search', '/api/activity', '/api/harvests'), query).map(([p, q]) => `${p}${q}`),
    fc.tuple(objects, query).map(([o, q]) => `/object/${o}${q}`),
    fc.tuple(objects, query).map(([o, q]) => `/api/objects/${o}${q}`),
    objects.map((o) => `/api/objects/${o}/lido.xml`),
    fc.tuple(identifier(), query).map(([i, q]) => `/api/images/${i}${q}`),
    fc.tuple(fc.constantFrom('mirador', 'uv'), query).map(([viewer, q]) => `/viewer/${viewer}.html${q}`),
    fc.tuple(fc.constantFrom('mirador', 'uv', 'x'), fc.array(segment, { minLength: 1, maxLength: 3 })).map(([viewer, rest]) => `/viewers/${viewer}/${rest.join('/')}`),
    fc.tuple(fc.array(segment, { maxLength: 4 }), query).map(([rest, q]) => `/${rest.join('/')}${q}`),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The rules every answer keeps

async function send(generated: Generated): Promise<RawAnswer> {
  const answer = await rawRequest(url, generated);
  tally.requests++;
  tally.byStatus.set(answer.status, (tally.byStatus.get(answer.status) ?? 0) + 1);
  return answer;
}

function describeRequest(r: Generated): string {
  return `${r.method} ${r.path.slice(0, 300)} ${JSON.stringify(r.headers.map(([n, v]) => [n, v.slice(0, 60)]))}${r.body ? ` body ${r.body.length} B` : ''}`;
}

/**
 * Node's HTTP parser refuses some requests itself, before the router sees them (431 for a request head over 16 KB,
 * 400 for a malformed one), with an empty body and no headers but `Connection: close`: not the application's answer.
 */
function refusedByNode(answer: RawAnswer): boolean {
  return (answer.status === 400 || answer.status === 431) && answer.body.length === 0 && Object.keys(answer.headers).join() === 'connection';
}

function checkAnswer(r: Generated, answer: RawAnswer): void {
  const what = describeRequest(r);
  if (refusedByNode(answer)) {
    tally.refusedByNode++;
    return;
  }
  expect(answer.status, `${what}: no status line in ${JSON.stringify(answer.head.slice(0, 200))}`).toBeGreaterThanOrEqual(100);
  expect(answer.status, `${what} → ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`).toBeLessThan(500);
  const bodyless = r.method === 'HEAD' || answer.status === 304;
  if (answer.status >= 400 && !bodyless) {
    expect(answer.body.toString('utf8').trim().length, `${what} → ${answer.status} without a reason`).toBeGreaterThan(0);
  }
  // The private image is never served to someone without a session (no valid cookie can be generated here).
  const privateId = fuzz.private.identifier;
  if (answer.status === 200 && decodeURIComponentSafe(r.path).includes(`/iiif/`) && decodeURIComponentSafe(r.path).includes(privateId) && !r.path.startsWith('/iiif/auth/')) {
    const type = answer.headers['content-type'] ?? '';
    expect(type.startsWith('image/') || /"width"/.test(answer.body.toString('utf8')), `${what}: private image answered 200 (${type})`).toBe(false);
  }
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The first failure of each property, as met (before shrinking), for the log. */
const firstFailures: string[] = [];

async function property(paths: fc.Arbitrary<string>, numRuns: number): Promise<void> {
  let failed = false;
  await fc.assert(
    fc.asyncProperty(request(paths.filter((p) => !/^[/\\][/\\]/.test(p))), async (r) => {
      try {
        checkAnswer(r, await send(r));
      } catch (error) {
        if (!failed) firstFailures.push(error instanceof Error ? error.message.split('\n')[0]! : String(error));
        failed = true;
        throw error;
      }
    }),
    runs(numRuns),
  );
}

// ---------------------------------------------------------------------------------------------------------------

describe('hostile requests to every route', () => {
  it('Image API 2.1 and 3.0: info.json, base URIs and image requests with any parameters', async () => {
    await property(imageApiPaths(), 400);
  }, 300_000);

  it('Presentation API: manifests, collections, pages and lookups', async () => {
    await property(presentationPaths(), 200);
  }, 300_000);

  it('Auth 2.0: login, token, probe and logout with odd parameters, bodies and origins', async () => {
    await property(authPaths(), 120);
  }, 300_000);

  it('the web app, its JSON API and the viewer pages', async () => {
    await property(webPaths(), 200);
  }, 300_000);

  it('any path at all, under /iiif/ or not', async () => {
    await property(fc.oneof(segment.map((s) => `/${s}`), fc.array(segment, { maxLength: 8 }).map((parts) => `/iiif/${parts.join('/')}`)), 150);
  }, 300_000);

  it('uploads to /api/upload with hostile keys are refused with a reason or accepted as an ingest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.uint8Array({ minLength: 0, maxLength: 64 }), async (parts, bytes) => {
        const r: Generated = { method: 'PUT', path: `/api/upload/${parts.join('/')}`, headers: [['Content-Type', 'image/jpeg']], body: Buffer.from(bytes) };
        const answer = await send(r);
        checkAnswer(r, answer);
        // Dot segments are resolved by URL parsing before routing (`/api/upload/../x` is `/api/x`): 404/405 there.
        expect([202, 400, 404, 405], describeRequest(r)).toContain(answer.status);
        if (answer.status === 202) {
          const accepted = JSON.parse(answer.body.toString('utf8')) as { key: string; identifier: string };
          expect(isIdentifier(accepted.identifier), describeRequest(r)).toBe(true);
          expect(accepted.key.startsWith('/') || accepted.key.split('/').some((s) => s === '..' || s === '.' || s === '')).toBe(false);
        }
      }),
      runs(60),
    );
  }, 300_000);
});

describe('inputs that once answered 5xx (found by the properties above), pinned', () => {
  const long = (c: string, n: number) => encodeAll(c.repeat(n));
  it.each([
    // DynamoDB refuses keys over 2048 / 1024 bytes: the lookup values and collection keys went to it unbounded.
    ['GET', `/iiif/presentation/3/lookup?recordId=${long('x', 3000)}`, 400],
    ['GET', `/iiif/presentation/3/lookup?dataPid=${long('€', 800)}`, 400],
    ['GET', `/iiif/presentation/2/lookup?objectNumber=${long('x', 2100)}&institution=mskgent.be`, 400],
    ['GET', `/iiif/presentation/3/collection/${long('x', 2100)}.json`, 404],
    ['GET', `/api/images/x:y?key=${long('x', 2100)}`, 400],
    // The local S3 stand-in cannot name these (storage errors, or an uncaught exception in it).
    ['PUT', `/api/upload/fuzz/${encodeAll('a\u0000b.jpg')}`, 400],
    ['PUT', `/api/upload/fuzz/${encodeAll('c\u0001.jpg')}`, 400],
    ['PUT', `/api/upload/fuzz/${long('é', 120)}.jpg`, 400],
  ] as const)('%s %s → %i with a reason', async (method, path, status) => {
    const r: Generated = { method, path, headers: [], ...(method === 'PUT' ? { body: Buffer.from([0xff, 0xd8]) } : {}) };
    const answer = await send(r);
    checkAnswer(r, answer);
    expect(answer.status).toBe(status);
  });
});

describe('request targets that are not plain paths (functions/local/router.ts)', () => {
  // `new URL('//', base)` throws for a protocol-relative path whose authority is not a host (WHATWG URL reads `\`
  // as `/` too): it was the router's first line, so such requests ended in its catch-all 500.
  it('a request path starting with // and no valid host is refused without a 5xx', async () => {
    for (const path of ['//', '//%zz/iiif/3/x/info.json', '//[/api/institutions', '/\\/%F0%9F%98%80/x']) {
      const r: Generated = { method: 'GET', path, headers: [] };
      checkAnswer(r, await send(r));
    }
  });
});

describe('afterwards', () => {
  it('the server still answers, and nothing was left unhandled', async () => {
    const answer = await rawRequest(url, { method: 'GET', path: `/iiif/3/${fuzz.open.identifier}/info.json` });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ width: 1200, height: 900 });
    expect(processFaults).toEqual([]);
  }, 60_000);
});
