/**
 * Rights-aware access, enforced end to end: the one-machine system (router = the CDN's static mapping over the
 * public bucket, then the Image API) is asked, over HTTP and without a login, for every kind of Image API 2.1 and
 * 3.0 request a client or an attacker can make of a restricted-size image (limit L on the long side) and of a
 * private one, and every answer is checked against the rule in functions/core/access-layout.ts:
 *
 *  - a 200 answer's decoded pixels must satisfy withinSizeLimit(region, size, image, L), the region computed here
 *    independently from the URL, the size read from the decoded image itself (never from the server's word);
 *  - beyond the limit the answer is 401 with a reason naming the limit; never a 5xx;
 *  - the public derivative bucket (what the CDN serves) holds nothing beyond the limit and nothing at all of a
 *    private image;
 *  - a private image answers 401 without its dimensions to every request, whatever it asks;
 *  - with the staff session cookie everything is served, beyond-the-limit answers with `Cache-Control: private`.
 *
 * One master (bentheim.jpg, 3000×2279) is uploaded three times: `in-copyright: yes` (restricted-size),
 * `cleared-for-public-use: no` (private) and without flags (open, the control).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withinSizeLimit } from '../../functions/core/access-layout.ts';
import { ACCESS_COOKIE, AUTH2_CONTEXT } from '../../functions/core/auth.ts';
import type { ImageItem, PublishedPyramid } from '../../functions/core/image-item.ts';
import { ImageRequestError, parseImagePath, resolveImageRequest, type ImageFacts } from '../../functions/core/image-request.ts';
import type { Region, Size } from '../../functions/core/pyramid.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { clientUrls } from './client-urls.ts';

const MASTER = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/images/bentheim.jpg'));
const W = 3000;
const H = 2279;
const RESTRICTED = 'access:restricted';
const PRIVATE = 'access:private';
const OPEN = 'access:open';

let system: LocalSystem;
let dataDir: string;
let restricted: PublishedPyramid;
let privateImage: PublishedPyramid;
let open: PublishedPyramid;
/** The restricted image's limit (maxLongSide of its access decision). */
let L: number;

/** Every answer seen, for the figures and for the never-a-5xx rule. */
const tally = { requests: 0, ok: 0, refused: 0, other: 0, pixelsChecked: 0 };
const serverErrors: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'imagehub-access-enforcement-'));
  system = await startLocalSystem({ dataDir, port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH } });
  await system.ingest.putBody('access/restricted.jpg', MASTER, { contentType: 'image/jpeg', metadata: { 'in-copyright': 'yes' } });
  await system.ingest.putBody('access/private.jpg', MASTER, { contentType: 'image/jpeg', metadata: { 'cleared-for-public-use': 'no' } });
  await system.ingest.putBody('access/open.jpg', MASTER, { contentType: 'image/jpeg' });
  const ready = async (identifier: string): Promise<ImageItem> => {
    for (let attempt = 0; attempt < 600; attempt++) {
      await new Promise((r) => setTimeout(r, 200));
      await system.queue.idle();
      const item = await system.items.get(identifier);
      if (item?.status === 'ready' && item.published) return item;
      if (item?.status === 'failed') throw new Error(`${identifier} failed: ${item.reason}`);
    }
    throw new Error(`${identifier} was not published in time`);
  };
  restricted = (await ready(RESTRICTED)).published!;
  privateImage = (await ready(PRIVATE)).published!;
  open = (await ready(OPEN)).published!;
  L = restricted.access!.maxLongSide!;
}, 180_000);

afterAll(async () => {
  await system?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  console.log(`access enforcement: ${tally.requests} requests, ${tally.ok} answered 200 (${tally.pixelsChecked} decoded and checked), ${tally.refused} refused 401, ${tally.other} other`);
});

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
}

async function request(path: string, init: { method?: string; cookie?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.cookie) headers.cookie = init.cookie;
  const response = await fetch(`${system.url}${path}`, { method: init.method ?? 'GET', headers, redirect: 'manual' });
  const body = Buffer.from(await response.arrayBuffer());
  tally.requests++;
  if (response.status === 200) tally.ok++;
  else if (response.status === 401) tally.refused++;
  else tally.other++;
  if (response.status >= 500) serverErrors.push(`${init.method ?? 'GET'} ${path} → ${response.status}: ${body.toString('utf8').slice(0, 300)}`);
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, headers: response.headers, body, text: /^(text|application)\//.test(type) ? body.toString('utf8') : '' };
}

/**
 * Runs every check (a few at a time) to the end, whatever fails, and returns the failures' messages: one broken
 * request does not hide the others.
 */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<string[]> {
  let next = 0;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          await work(item);
        } catch (error) {
          failures.push(error instanceof Error ? error.message.split('\n')[0]! : String(error));
        }
      }
    }),
  );
  return failures;
}

async function decodedSize(body: Buffer): Promise<Size> {
  const meta = await sharp(body).metadata();
  return { width: meta.width, height: meta.height };
}

async function login(): Promise<string> {
  const response = await fetch(`${system.url}/iiif/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ password: system.auth.secrets.password, origin: 'https://viewer.example.org' }).toString(),
    redirect: 'manual',
  });
  expect(response.status).toBe(200);
  const cookie = /^[^;]+/.exec(response.headers.get('set-cookie') ?? '')?.[0] ?? '';
  expect(cookie.startsWith(`${ACCESS_COOKIE}=`)).toBe(true);
  return cookie;
}

// ---------------------------------------------------------------------------------------------------------------
// What a request means, computed here

/** The region a region parameter names in a w×h image, cropped at its edges (Image API §4.1), written independently of the server. */
function regionOf(param: string, width: number, height: number): Region | undefined {
  if (param === 'full') return { x: 0, y: 0, w: width, h: height };
  if (param === 'square') {
    const side = Math.min(width, height);
    return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), w: side, h: side };
  }
  const percent = param.startsWith('pct:');
  const numbers = (percent ? param.slice(4) : param).split(',').map(Number);
  if (numbers.length !== 4 || numbers.some((n) => !Number.isFinite(n) || n < 0)) return undefined;
  const [x, y, w, h] = numbers as [number, number, number, number];
  if (percent) {
    const left = Math.round((width * x) / 100);
    const top = Math.round((height * y) / 100);
    const right = Math.min(width, Math.round((width * (x + w)) / 100));
    const bottom = Math.min(height, Math.round((height * (y + h)) / 100));
    return right - left >= 1 && bottom - top >= 1 ? { x: left, y: top, w: right - left, h: bottom - top } : undefined;
  }
  if (w === 0 || h === 0 || x >= width || y >= height) return undefined;
  return { x, y, w: Math.min(w, width - x), h: Math.min(h, height - y) };
}

type Meaning =
  | { valid: false; status: number }
  | { valid: true; region: Region; size: Size; degrees: number; within: boolean };

/** What a `/iiif/{v}/{id}/{region}/{size}/{rotation}/{quality}.{format}` request asks of an image with these facts. */
function meaning(path: string, facts: ImageFacts, limit: number): Meaning {
  let resolved;
  try {
    const parsed = parseImagePath(path);
    if (parsed.kind !== 'image') throw new Error(`not an image request: ${path}`);
    resolved = resolveImageRequest(parsed.request, facts);
  } catch (error) {
    if (error instanceof ImageRequestError) return { valid: false, status: error.status };
    throw error;
  }
  const regionParam = decodeURIComponent(path.split('/').slice(-4)[0]!);
  const region = regionOf(regionParam, facts.width, facts.height);
  // The server's reading of the region must be the one computed here: the limit is judged on it.
  expect(resolved.region, `region of ${path}`).toEqual(region);
  return {
    valid: true,
    region: region!,
    size: resolved.size,
    degrees: resolved.rotation.degrees % 360,
    within: withinSizeLimit(region!, resolved.size, facts, limit),
  };
}

/** The decoded image's size before rotation, checked against the size the request asks for. */
function unrotatedSize(decoded: Size, asked: Size, degrees: number, context: string): Size {
  if (degrees % 90 === 0) {
    const size = degrees % 180 === 90 ? { width: decoded.height, height: decoded.width } : decoded;
    expect(size, context).toEqual(asked);
    return size;
  }
  // Any other angle: the bounding box of the asked size turned by that angle, nothing larger.
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.abs(Math.cos(radians));
  const sin = Math.abs(Math.sin(radians));
  expect(decoded.width, context).toBeLessThanOrEqual(Math.ceil(asked.width * cos + asked.height * sin) + 2);
  expect(decoded.height, context).toBeLessThanOrEqual(Math.ceil(asked.width * sin + asked.height * cos) + 2);
  return asked;
}

const restrictedFacts = (): ImageFacts => ({ width: W, height: H, ...restricted.limits, allowUpscaling: system.settings.upscaling });

/**
 * One request of the restricted image without a login: 200 exactly when the request is within the limit (and the
 * decoded pixels then within it too), 401 naming the limit when beyond, the spec's error when invalid.
 */
async function checkRestricted(path: string, method = 'GET'): Promise<void> {
  const expected = meaning(path, restrictedFacts(), L);
  const answer = await request(path, { method });
  const context = `${method} ${path} → ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, context).toBeLessThan(500);
  if (!expected.valid) {
    expect(answer.status, context).toBe(expected.status);
    return;
  }
  if (!expected.within) {
    // Beyond the limit: refused, or (before any pixels) a size no encoder can write, which is the client's error.
    if (answer.status === 400) {
      expect(answer.text, context).toMatch(/rotated by .* more than twice maxArea|is too large for \w+, which holds at most/);
      return;
    }
    expect(answer.status, context).toBe(401);
    expect(answer.headers.get('content-type'), context).toMatch(/^text\/plain/);
    if (method === 'GET') expect(answer.text, context).toContain(`up to ${L} pixels`);
    return;
  }
  expect(answer.status, context).toBe(200);
  expect(answer.headers.get('cache-control') ?? '', context).not.toContain('private');
  if (method === 'HEAD') return;
  const size = unrotatedSize(await decodedSize(answer.body), expected.size, expected.degrees, context);
  expect(withinSizeLimit(expected.region, size, { width: W, height: H }, L), context).toBe(true);
  tally.pixelsChecked++;
}

const pathOf = (url: string) => new URL(url).pathname;

// ---------------------------------------------------------------------------------------------------------------

describe('publication', () => {
  it('decides the three policies from the S3 metadata', () => {
    expect(restricted.access).toMatchObject({ policy: 'restricted-size', maxLongSide: 800 });
    expect(privateImage.access).toMatchObject({ policy: 'private' });
    expect(open.access?.policy ?? 'open').toBe('open');
    for (const p of [restricted, privateImage, open]) expect([p.width, p.height]).toEqual([W, H]);
    expect(restricted.maxSize).toEqual({ width: W, height: H });
    expect(restricted.substitute).toMatchObject({ identifier: `${RESTRICTED}~${restricted.revision}~${L}` });
    expect(Math.max(restricted.substitute!.width, restricted.substitute!.height)).toBe(L);
    expect(privateImage.substitute).toBeUndefined();
  });
});

describe('restricted-size image, without a login', () => {
  const services = () => [RESTRICTED, `${RESTRICTED}~${restricted.revision}`, 'access%3Arestricted'];

  it('publishes info.json (3.0 and 2.1) with the full dimensions and the Auth 2.0 probe service', async () => {
    for (const id of services()) {
      const v3 = await request(`/iiif/3/${id}/info.json`);
      expect(v3.status, id).toBe(200);
      const info3 = JSON.parse(v3.text) as Record<string, unknown>;
      expect(info3['@context']).toEqual([AUTH2_CONTEXT, 'http://iiif.io/api/image/3/context.json']);
      expect([info3.width, info3.height]).toEqual([W, H]);
      expect(info3.service).toEqual([expect.objectContaining({ type: 'AuthProbeService2', id: `${system.url}/iiif/auth/probe/${RESTRICTED}` })]);
      const v2 = await request(`/iiif/2/${id}/info.json`);
      expect(v2.status, id).toBe(200);
      const info2 = JSON.parse(v2.text) as Record<string, unknown>;
      expect([info2.width, info2.height]).toEqual([W, H]);
      expect(info2.service).toEqual([expect.objectContaining({ '@context': AUTH2_CONTEXT, type: 'AuthProbeService2' })]);
    }
  });

  it('publishes the substitute as a small image service of its own', async () => {
    const sub = restricted.substitute!;
    const v3 = await request(`/iiif/3/${sub.identifier}/info.json`);
    expect(v3.status).toBe(200);
    const info3 = JSON.parse(v3.text) as { width: number; height: number; maxWidth: number; maxHeight: number; service?: unknown };
    expect(Math.max(info3.width, info3.height)).toBeLessThanOrEqual(L);
    expect([info3.maxWidth, info3.maxHeight]).toEqual([info3.width, info3.height]);
    expect([info3.width, info3.height]).toEqual([sub.width, sub.height]);
    const v2 = await request(`/iiif/2/${sub.identifier}/info.json`);
    expect(v2.status).toBe(200);
    const info2 = JSON.parse(v2.text) as { width: number; height: number; profile: [string, { maxWidth: number; maxHeight: number }] };
    expect([info2.width, info2.height]).toEqual([sub.width, sub.height]);
    expect([info2.profile[1].maxWidth, info2.profile[1].maxHeight]).toEqual([sub.width, sub.height]);
    // Another limit is no published version.
    for (const other of [L + 1, L - 1, W]) expect((await request(`/iiif/3/${RESTRICTED}~${restricted.revision}~${other}/full/max/0/default.jpg`)).status).toBe(404);
  });

  it('the probe service offers the substitute, within the limit', async () => {
    const answer = await request(`/iiif/auth/probe/${RESTRICTED}`);
    expect(answer.status).toBe(200);
    const result = JSON.parse(answer.text) as { status: number; substitute?: { id: string; width: number; height: number }[] };
    expect(result.status).toBe(401);
    expect(result.substitute?.length).toBe(1);
    const substitute = result.substitute![0]!;
    expect(Math.max(substitute.width, substitute.height)).toBeLessThanOrEqual(L);
    const image = await request(pathOf(substitute.id));
    expect(image.status).toBe(200);
    expect(await decodedSize(image.body)).toEqual({ width: substitute.width, height: substitute.height });
  });

  it('answers every crafted request within the limit and refuses everything beyond it (2.1 and 3.0)', async () => {
    const paths: string[] = [];
    const k = L / Math.max(W, H);
    const tiny: [number, number][] = [
      [1000, 1000], [1501, 700], [0, 0], [W - 1, H - 1], [W - 1, 0], [0, H - 1], [W - 1, 1000], [1000, H - 1], [W - 3, H - 3], [W - 4, 500], [W - 8, H - 8],
    ];
    for (const version of [3, 2] as const) {
      // `w,h` sizes are valid in both versions; `w,` is 2.1's canonical form.
      const sized = (w: number, h: number) => (version === 3 ? `${w},${h}` : `${w},`);
      const rests: string[] = [
        'full/max/0/default.jpg',
        ...['0', '90', '180', '270', '!0', '!90', '45', '22.5', '360'].map((r) => `full/max/${r}/default.jpg`),
        ...['default', 'color', 'gray', 'bitonal'].map((q) => `full/max/0/${q}.jpg`),
        ...['png', 'webp', 'tif', 'gif'].map((f) => `full/max/0/default.${f}`),
        `full/${L + 1},/0/default.jpg`,
        `full/${L},/0/default.jpg`,
        `full/,${L}/0/default.jpg`,
        `full/,${Math.floor(H * k)}/0/default.jpg`,
        `full/,${Math.floor(H * k) + 1}/0/default.jpg`,
        `full/,${Math.floor(H * k) + 2}/0/default.jpg`,
        `full/${L},${Math.ceil(H * k)}/0/default.jpg`,
        `full/${L},${Math.ceil(H * k) + 1}/0/default.jpg`,
        `full/!${L},${L}/0/default.jpg`,
        `full/!${L + 1},${L + 1}/0/default.jpg`,
        ...['90', '!0', '45'].map((r) => `full/!${L},${L}/${r}/default.jpg`),
        ...['gray', 'bitonal'].map((q) => `full/!${L},${L}/0/${q}.jpg`),
        ...['png', 'webp', 'tif', 'gif'].map((f) => `full/!${L},${L}/0/default.${f}`),
        'full/pct:100/0/default.jpg',
        'full/pct:50/0/default.jpg',
        `full/pct:${Math.floor(k * 10000) / 100}/0/default.jpg`,
        `full/pct:${Math.ceil(k * 10000) / 100}/0/default.jpg`,
        'full/pct:27/0/default.jpg',
        'full/pct:26/0/default.jpg',
        'full/pct:10/0/default.jpg',
        'pct:0,0,10,10/max/0/default.jpg',
        'pct:0,0,10,10/pct:26/0/default.jpg',
        'pct:0,0,10,10/pct:27/0/default.jpg',
        'pct:90,90,10,10/max/0/default.jpg',
        'pct:90,90,20,20/pct:27/0/default.jpg',
        'pct:0,0,100,100/max/0/default.jpg',
        'pct:33.3,33.3,0.1,0.1/max/0/default.jpg',
        'square/max/0/default.jpg',
        `square/!${L},${L}/0/default.jpg`,
        `square/${Math.floor(H * k)},/0/default.jpg`,
        `square/${Math.floor(H * k) + 1},/0/default.jpg`,
        `0,0,${W},${H}/max/0/default.jpg`,
        `0,0,${W},${H}/${L},/0/default.jpg`,
        `0,0,${W * 2},${H * 2}/max/0/default.jpg`,
        '0,0,512,512/max/0/default.jpg',
        '0,0,1024,1024/256,256/0/default.jpg',
        '0,0,1024,1024/512,512/0/default.jpg',
        '0,0,2048,2048/512,512/0/default.jpg',
        '0,0,2048,2048/max/0/default.jpg',
        '2048,2048,952,231/238,58/0/default.jpg',
        '2048,2048,952,231/max/0/default.jpg',
        ...tiny.flatMap(([x, y]) => [
          `${x},${y},1,1/${sized(1, 1)}/0/default.jpg`,
          `${x},${y},1,1/max/0/default.jpg`,
          `${x},${y},1,1/max/0/default.png`,
          `${x},${y},2,2/max/0/default.jpg`,
          `${x},${y},3,3/${sized(1, 1)}/0/default.jpg`,
          `${x},${y},4,4/${sized(1, 1)}/0/default.jpg`,
          `${x},${y},7,7/${sized(1, 1)}/0/default.jpg`,
          `${x},${y},7,7/${sized(2, 2)}/0/default.jpg`,
          `${x},${y},8,8/${sized(2, 2)}/0/default.jpg`,
          `${x},${y},8,8/${sized(3, 3)}/0/default.jpg`,
          `${x},${y},16,16/${sized(4, 4)}/0/default.jpg`,
          `${x},${y},16,16/${sized(5, 5)}/0/default.jpg`,
          `${x},${y},100,100/${sized(26, 26)}/0/default.jpg`,
          `${x},${y},100,100/${sized(27, 27)}/0/default.jpg`,
          `${x},${y},1,1/${sized(1, 1)}/90/gray.png`,
        ]),
        ...(version === 3
          ? [
              'full/^max/0/default.jpg',
              `full/^${2 * L},/0/default.jpg`,
              `full/^${L},/0/default.jpg`,
              'full/^pct:150/0/default.jpg',
              `full/^!${L},${L}/0/default.jpg`,
              `0,0,1,1/^${L},${L}/0/default.jpg`,
              `1000,1000,1,1/^max/0/default.jpg`,
              `${W - 1},${H - 1},1,1/^max/0/default.jpg`,
              `0,0,100,100/^!${L},${L}/0/default.jpg`,
              `full/full/0/default.jpg`, // not 3.0: 400
            ]
          : [
              'full/full/0/default.jpg',
              'full/full/90/gray.png',
              '0,0,512,512/full/0/default.jpg',
              `0,0,1,1/${L},/0/default.jpg`,
              `1000,1000,1,1/full/0/default.jpg`,
              `${W - 1},${H - 1},1,1/full/0/default.jpg`,
              `1000,1000,10,10/full/0/default.jpg`,
              `0,0,100,100/!${L},${L}/0/default.jpg`,
            ]),
      ];
      for (const id of services()) for (const rest of rests) paths.push(`/iiif/${version}/${id}/${rest}`);
    }
    expect(await eachLimited(paths, 6, (path) => checkRestricted(path))).toEqual([]);
    // HEAD answers the same question.
    expect(await eachLimited(paths.filter((_, i) => i % 7 === 0), 6, (path) => checkRestricted(path, 'HEAD'))).toEqual([]);
  }, 240_000);

  it('answers every tile and size its info.json advertises only within the limit', async () => {
    const paths = new Set<string>();
    for (const version of [3, 2] as const) {
      const info = JSON.parse((await request(`/iiif/${version}/${RESTRICTED}/info.json`)).text) as Parameters<typeof clientUrls>[0];
      for (const { url } of clientUrls(info)) {
        const path = pathOf(url);
        paths.add(path);
        // The same URL under the stable identifier, which the CDN never serves from storage.
        paths.add(path.replace(`/${RESTRICTED}~${restricted.revision}/`, `/${RESTRICTED}/`));
      }
      // Every tile of every scale factor, in both forms, including those no viewer derives.
      const tiles = (info as { tiles: { width: number; scaleFactors: number[] }[] }).tiles[0]!;
      for (const s of tiles.scaleFactors) {
        const span = tiles.width * s;
        for (let y = 0; y < H; y += span) {
          for (let x = 0; x < W; x += span) {
            const rw = Math.min(span, W - x);
            const rh = Math.min(span, H - y);
            const [sw, sh] = [Math.ceil(rw / s), Math.ceil(rh / s)];
            const id = `${RESTRICTED}~${restricted.revision}`;
            paths.add(`/iiif/${version}/${id}/${x},${y},${rw},${rh}/${version === 3 ? `${sw},${sh}` : `${sw},`}/0/default.jpg`);
            paths.add(`/iiif/${version}/${id}/${x},${y},${rw},${rh}/${sw},${sh}/0/default.jpg`);
          }
        }
      }
      for (const size of restricted.sizes) {
        paths.add(`/iiif/${version}/${RESTRICTED}~${restricted.revision}/full/${size.width},${size.height}/0/default.jpg`);
        paths.add(`/iiif/${version}/${RESTRICTED}~${restricted.revision}/full/${size.width},/0/default.jpg`);
      }
    }
    const list = [...paths];
    expect(list.length).toBeGreaterThan(100);
    expect(await eachLimited(list, 6, (path) => checkRestricted(path))).toEqual([]);
    // The pyramid has public levels (within the limit) and protected ones: the sweep saw both.
    expect(list.some((p) => withinPath(p))).toBe(true);
    expect(list.some((p) => !withinPath(p))).toBe(true);
    expect(serverErrors).toEqual([]);
  }, 240_000);

  it('answers random region/size/rotation/quality/format combinations only within the limit', async () => {
    const k = L / Math.max(W, H);
    const coordinate = (full: number) =>
      fc.oneof(fc.integer({ min: 0, max: full - 1 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: full - 20, max: full - 1 }), fc.integer({ min: full, max: full + 5 }));
    const length = (full: number) => fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: full + 10 }), fc.constantFrom(full, 512, 1024, 2048));
    const percent = fc.integer({ min: 0, max: 1000 }).map((n) => String(n / 10));
    const region = fc.oneof(
      fc.constantFrom('full', 'square'),
      fc.tuple(coordinate(W), coordinate(H), length(W), length(H)).map(([x, y, w, h]) => ({ x, y, w, h })),
      fc.tuple(percent, percent, percent, percent).map((p) => `pct:${p.join(',')}`),
    );
    // Sizes relative to the region, clustered around the limit's boundary (floor, ceil, one more), and absolute ones.
    const size = fc.record({
      form: fc.constantFrom('max', 'boundary-wh', 'boundary-w', 'boundary-h', 'fit', 'w', 'h', 'wh', 'pct', 'full'),
      dw: fc.integer({ min: -2, max: 2 }),
      dh: fc.integer({ min: -2, max: 2 }),
      n: fc.integer({ min: 1, max: 3100 }),
      m: fc.integer({ min: 1, max: 3100 }),
      pct: fc.integer({ min: 1, max: 1200 }).map((n) => String(n / 10)),
      upscale: fc.boolean(),
    });
    const rotation = fc.constantFrom('0', '0', '90', '180', '270', '!0', '!90', '45', '22.5', '359.9');
    const quality = fc.constantFrom('default', 'color', 'gray', 'bitonal');
    const format = fc.constantFrom('jpg', 'jpg', 'png', 'webp', 'tif', 'gif');
    const version = fc.constantFrom(2, 3);
    const identifier = fc.constantFrom('stable', 'revision');

    await fc.assert(
      fc.asyncProperty(version, identifier, region, size, rotation, quality, format, async (v, which, r, s, rot, q, f) => {
        const regionParam = typeof r === 'string' ? r : `${r.x},${r.y},${r.w},${r.h}`;
        const area = regionOf(regionParam, W, H) ?? { x: 0, y: 0, w: 100, h: 100 };
        const fw = Math.max(1, Math.floor(area.w * k) + s.dw);
        const fh = Math.max(1, Math.floor(area.h * k) + s.dh);
        const up = v === 3 && s.upscale ? '^' : '';
        const sizeParam = {
          max: `${up}max`,
          'boundary-wh': `${up}${fw},${fh}`,
          'boundary-w': `${up}${fw},`,
          'boundary-h': `${up},${fh}`,
          fit: `${up}!${s.n},${s.m}`,
          w: `${up}${s.n},`,
          h: `${up},${s.m}`,
          wh: `${up}${s.n},${s.m}`,
          pct: `${up}pct:${s.pct}`,
          full: v === 2 ? 'full' : 'max',
        }[s.form]!;
        const id = which === 'stable' ? RESTRICTED : `${RESTRICTED}~${restricted.revision}`;
        await checkRestricted(`/iiif/${v}/${id}/${regionParam}/${sizeParam}/${rot}/${q}.${f}`);
      }),
      { numRuns: 400 },
    );
    expect(serverErrors).toEqual([]);
  }, 300_000);

  it('refuses beyond the limit before any cache validation (If-None-Match gets no 304)', async () => {
    for (const path of [`/iiif/3/${RESTRICTED}/full/max/0/default.jpg`, `/iiif/2/${RESTRICTED}~${restricted.revision}/0,0,512,512/512,/0/default.jpg`]) {
      for (const etag of ['*', `"${restricted.revision}-0000000000000000p"`]) {
        expect((await request(path, { headers: { 'if-none-match': etag } })).status, `${path} ${etag}`).toBe(401);
      }
    }
  });

  it('serves the substitute only at its own size or less, however it is asked', async () => {
    const sub = restricted.substitute!;
    const facts: ImageFacts = { width: sub.width, height: sub.height, maxWidth: sub.width, maxHeight: sub.height, allowUpscaling: system.settings.upscaling };
    const paths: string[] = [];
    for (const version of [3, 2] as const) {
      const info = JSON.parse((await request(`/iiif/${version}/${sub.identifier}/info.json`)).text) as Parameters<typeof clientUrls>[0];
      for (const { url } of clientUrls(info)) paths.push(pathOf(url));
      const base = `/iiif/${version}/${sub.identifier}`;
      paths.push(
        ...['full/max/0/default.jpg', 'full/max/90/gray.png', 'full/max/0/default.tif', 'full/pct:100/0/default.jpg', `full/${sub.width + 1},/0/default.jpg`, `full/${sub.width},/0/default.webp`]
          .concat(`full/!${W},${W}/0/default.jpg`, '0,0,10,10/max/0/default.jpg', `0,0,10,10/${sub.width},/0/default.jpg`, `${sub.width - 1},${sub.height - 1},1,1/max/0/default.jpg`)
          .concat(version === 3 ? ['full/^max/0/default.jpg', 'full/^pct:200/0/default.jpg', `full/^${W},/0/default.jpg`, '0,0,10,10/^max/0/default.jpg'] : ['full/full/0/default.jpg', `full/${W},/0/default.jpg`])
          .map((rest) => `${base}/${rest}`),
      );
    }
    const failures = await eachLimited(paths, 6, async (path) => {
      const expected = meaning(path, facts, Math.max(sub.width, sub.height));
      const answer = await request(path);
      const context = `${path} → ${answer.status} ${answer.text.slice(0, 200)}`;
      if (!expected.valid) {
        expect(answer.status, context).toBe(expected.status);
        return;
      }
      expect(answer.status, context).toBe(200);
      const size = unrotatedSize(await decodedSize(answer.body), expected.size, expected.degrees, context);
      // The substitute is the whole image at L: no answer of it is larger than it.
      expect(size.width, context).toBeLessThanOrEqual(sub.width);
      expect(size.height, context).toBeLessThanOrEqual(sub.height);
      tally.pixelsChecked++;
    });
    expect(failures).toEqual([]);
  }, 120_000);

  it('the public bucket holds only files within the limit (checked after every request above)', async () => {
    let pyramidFiles = 0;
    let substituteFiles = 0;
    for await (const key of system.derivatives.listKeys('iiif/')) {
      const [, version, service, ...rest] = key.split('/') as [string, string, string, ...string[]];
      const [identifier, revision, substitute] = service.split('~');
      if (identifier !== RESTRICTED) continue;
      const body = Buffer.from((await system.derivatives.getBytes(key))!);
      if (rest.join('/') === 'info.json') {
        const info = JSON.parse(body.toString('utf8')) as { width: number; height: number };
        if (substitute) expect(Math.max(info.width, info.height), key).toBeLessThanOrEqual(L);
        continue;
      }
      if (revision !== undefined) expect(revision, key).toBe(restricted.revision);
      expect(rest.length, key).toBe(4);
      const decoded = await decodedSize(body);
      if (substitute !== undefined) {
        expect(substitute, key).toBe(String(L));
        expect(Math.max(decoded.width, decoded.height), key).toBeLessThanOrEqual(L);
        substituteFiles++;
        continue;
      }
      const [regionParam, sizeParam, rotation] = rest as [string, string, string];
      const region = regionOf(regionParam, W, H);
      expect(region, key).toBeDefined();
      const turned = Number(rotation.replace('!', '')) % 180 === 90;
      const size = turned ? { width: decoded.height, height: decoded.width } : decoded;
      // A stored file is what its name says (tiles `w,h`, 2.1 sizes `w,`).
      const named = /^(\d+),(\d*)$/.exec(sizeParam);
      if (named) {
        expect(size.width, key).toBe(Number(named[1]));
        if (named[2]) expect(size.height, key).toBe(Number(named[2]));
      }
      expect(withinSizeLimit(region!, size, { width: W, height: H }, L), `${key} holds ${size.width}×${size.height} (v${version})`).toBe(true);
      pyramidFiles++;
      tally.pixelsChecked++;
    }
    expect(pyramidFiles).toBeGreaterThan(5);
    expect(substituteFiles).toBeGreaterThan(0);
    // What is beyond the limit is kept, in the protected store.
    expect(await system.protectedDerivatives.head(`iiif/3/${RESTRICTED}~${restricted.revision}/full/max/0/default.jpg`)).toBeDefined();
    expect(await system.derivatives.head(`iiif/3/${RESTRICTED}~${restricted.revision}/full/max/0/default.jpg`)).toBeUndefined();
  }, 120_000);
});

/** Whether a tile path (`…/x,y,w,h/{w},{h}/…` or `…/{w},/…`) is within the restricted image's limit. */
function withinPath(path: string): boolean {
  const m = meaning(path, restrictedFacts(), L);
  return m.valid && m.within;
}

describe('private image, without a login', () => {
  const hidesDimensions = (answer: Answer, context: string) => {
    expect(answer.text, context).not.toMatch(/"width"|"height"/);
    expect(answer.text, context).not.toMatch(new RegExp(`\\b(${W}|${H})\\b`));
    expect(answer.text, context).not.toMatch(/\d+\s*[×x]\s*\d+/);
    for (const [name, value] of answer.headers) expect(`${name}: ${value}`, context).not.toMatch(new RegExp(`\\b(${W}|${H})\\b`));
  };

  it('has nothing at all in the public bucket', async () => {
    const leaked: string[] = [];
    for await (const key of system.derivatives.listKeys('iiif/')) if (key.split('/')[2]!.split('~')[0] === PRIVATE) leaked.push(key);
    expect(leaked).toEqual([]);
    expect(await system.protectedDerivatives.head(`iiif/3/${PRIVATE}/info.json`)).toBeDefined();
  });

  it('answers info.json 401 with the probe service and no dimensions; the base URI redirects without them', async () => {
    for (const id of [PRIVATE, `${PRIVATE}~${privateImage.revision}`, 'access%3Aprivate']) {
      for (const version of [3, 2]) {
        for (const method of ['GET', 'HEAD']) {
          const answer = await request(`/iiif/${version}/${id}/info.json`, { method });
          expect(answer.status, `${method} ${version} ${id}`).toBe(401);
          hidesDimensions(answer, `${method} /iiif/${version}/${id}/info.json`);
          if (method === 'GET') expect(answer.text).toContain('AuthProbeService2');
        }
        for (const suffix of ['', '/']) {
          const base = await request(`/iiif/${version}/${id}${suffix}`);
          expect([303, 401], `base ${version} ${id}${suffix}`).toContain(base.status);
          hidesDimensions(base, `/iiif/${version}/${id}${suffix}`);
        }
      }
    }
    const probe = await request(`/iiif/auth/probe/${PRIVATE}`);
    const result = JSON.parse(probe.text) as { status: number; substitute?: unknown };
    expect(result.status).toBe(401);
    expect(result.substitute).toBeUndefined();
    hidesDimensions(probe, 'probe');
  });

  it('answers every image request 401, tiles, sizes and crafted ones alike, without revealing the dimensions', async () => {
    const cookie = await login();
    const paths = new Set<string>();
    for (const version of [3, 2] as const) {
      // The tiles and sizes an authorised viewer would ask for.
      const info = JSON.parse((await request(`/iiif/${version}/${PRIVATE}/info.json`, { cookie })).text) as Parameters<typeof clientUrls>[0];
      for (const { url } of clientUrls(info)) {
        paths.add(pathOf(url));
        paths.add(pathOf(url).replace(`/${PRIVATE}~${privateImage.revision}/`, `/${PRIVATE}/`));
      }
      for (const id of [PRIVATE, `${PRIVATE}~${privateImage.revision}`]) {
        for (const rest of [
          'full/max/0/default.jpg', 'full/!16,16/0/default.jpg', 'full/1,1/0/default.jpg', '0,0,1,1/max/0/default.jpg', 'square/max/0/gray.png',
          'full/pct:1/0/default.webp', `${W - 1},${H - 1},1,1/max/0/default.jpg`,
          // Requests whose validity depends on the dimensions: a 400 for some and a 401 for others would reveal them.
          `${W},0,1,1/max/0/default.jpg`, `0,${H},1,1/max/0/default.jpg`, `${W + 1000},0,10,10/max/0/default.jpg`,
          `full/${W + 1},/0/default.jpg`, `full/,${H + 1}/0/default.jpg`, `full/${W * 10},/0/default.jpg`, `0,0,${W},${H}/${W + 1},${H + 1}/0/default.jpg`,
          ...(version === 3 ? ['full/^max/0/default.jpg', `full/^${W * 10},/0/default.jpg`] : ['full/full/0/default.jpg']),
        ]) {
          paths.add(`/iiif/${version}/${id}/${rest}`);
        }
      }
    }
    const failures = await eachLimited([...paths], 6, async (path) => {
      const answer = await request(path);
      const context = `${path} → ${answer.status} ${answer.text.trim().slice(0, 200)}`;
      // Every request, valid or not for the image's real size, gets the same answer: a 400 for some and a 401 for
      // others would reveal the dimensions as surely as a message that names them.
      expect(answer.status, context).toBe(401);
      hidesDimensions(answer, context);
    });
    expect(failures).toEqual([]);
    // Nor is there a substitute, under any limit.
    for (const version of [3, 2]) expect([401, 404]).toContain((await request(`/iiif/${version}/${PRIVATE}~${privateImage.revision}~${L}/info.json`)).status);
    expect(serverErrors).toEqual([]);
  }, 120_000);
});

describe('with the staff login', () => {
  it('serves the restricted image in full, privately; tampered or misplaced credentials are refused', async () => {
    const cookie = await login();
    for (const path of [
      `/iiif/3/${RESTRICTED}/full/max/0/default.jpg`,
      `/iiif/3/${RESTRICTED}~${restricted.revision}/full/max/0/default.jpg`,
      `/iiif/2/${RESTRICTED}/full/full/0/default.jpg`,
      `/iiif/2/${RESTRICTED}~${restricted.revision}/full/max/0/default.jpg`,
    ]) {
      const answer = await request(path, { cookie });
      expect(answer.status, path).toBe(200);
      expect(await decodedSize(answer.body), path).toEqual(restricted.maxSize);
      expect(answer.headers.get('cache-control'), path).toMatch(/\bprivate\b/);
    }
    // A full-resolution tile from the protected store.
    const tile = await request(`/iiif/3/${RESTRICTED}~${restricted.revision}/0,0,512,512/512,512/0/default.jpg`, { cookie });
    expect(tile.status).toBe(200);
    expect(await decodedSize(tile.body)).toEqual({ width: 512, height: 512 });
    expect(tile.headers.get('cache-control')).toMatch(/\bprivate\b/);
    // A render from full-resolution tiles, most of them in the protected store: the very pixels the open image
    // (the same master) gives for the same request.
    const rendered = `100,100,1200,900/600,450/90/gray.png`;
    const staff = await request(`/iiif/3/${RESTRICTED}/${rendered}`, { cookie });
    expect(staff.status).toBe(200);
    expect(staff.headers.get('cache-control')).toMatch(/\bprivate\b/);
    const control = await request(`/iiif/3/${OPEN}/${rendered}`);
    expect(control.status).toBe(200);
    const [a, b] = await Promise.all([sharp(staff.body).raw().toBuffer({ resolveWithObject: true }), sharp(control.body).raw().toBuffer({ resolveWithObject: true })]);
    expect(a.info).toMatchObject({ width: 450, height: 600 });
    expect(a.data.equals(b.data)).toBe(true);
    // Within the limit the answer stays public, cookie or not.
    const small = await request(`/iiif/3/${RESTRICTED}/full/!${L},${L}/0/default.jpg`, { cookie });
    expect(small.status).toBe(200);
    expect(small.headers.get('cache-control')).not.toMatch(/\bprivate\b/);

    const value = cookie.slice(ACCESS_COOKIE.length + 1);
    // A character inside the MAC (the last base64url character of 32 bytes carries 2 unused bits).
    const at = value.length - 10;
    const tampered = `${ACCESS_COOKIE}=${value.slice(0, at)}${value[at] === 'A' ? 'B' : 'A'}${value.slice(at + 1)}`;
    const payload = value.split('.')[0]!;
    const forgedPayload = Buffer.from(JSON.stringify({ iat: 0, exp: 4102444800, n: 'x' })).toString('base64url');
    const forged = `${ACCESS_COOKIE}=${forgedPayload}.${value.split('.')[1]}`;
    const page = await (await fetch(`${system.url}/iiif/auth/token?messageId=m&origin=${encodeURIComponent('https://viewer.example.org')}`, { headers: { cookie } })).text();
    const token = /"accessToken":"([^"]+)"/.exec(page)?.[1];
    expect(token).toBeDefined();
    expect(payload.length).toBeGreaterThan(0);
    for (const [what, headers] of [
      ['tampered signature', { cookie: tampered }],
      ['forged payload', { cookie: forged }],
      ['access token as cookie', { cookie: `${ACCESS_COOKIE}=${token}` }],
      ['access token as bearer', { authorization: `Bearer ${token}` }],
      ['cookie under another name', { cookie: `other=${value}` }],
    ] as [string, Record<string, string>][]) {
      const image = await request(`/iiif/3/${RESTRICTED}/full/max/0/default.jpg`, { headers });
      expect(image.status, what).toBe(401);
      for (const version of [3, 2]) {
        const info = await request(`/iiif/${version}/${PRIVATE}/info.json`, { headers });
        expect(info.status, what).toBe(401);
      }
      expect((await request(`/iiif/3/${PRIVATE}/full/max/0/default.jpg`, { headers })).status, what).toBe(401);
    }
  });

  it('serves the private image with its dimensions, privately', async () => {
    const cookie = await login();
    for (const version of [3, 2]) {
      const answer = await request(`/iiif/${version}/${PRIVATE}/info.json`, { cookie });
      expect(answer.status).toBe(200);
      const info = JSON.parse(answer.text) as { width: number; height: number };
      expect([info.width, info.height]).toEqual([W, H]);
      expect(answer.headers.get('cache-control')).toMatch(/\bprivate\b/);
    }
    for (const path of [`/iiif/3/${PRIVATE}/full/max/0/default.jpg`, `/iiif/3/${PRIVATE}/full/!100,100/0/default.jpg`, `/iiif/2/${PRIVATE}~${privateImage.revision}/0,0,512,512/512,/0/default.jpg`]) {
      const answer = await request(path, { cookie });
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('cache-control'), path).toMatch(/\bprivate\b/);
    }
  });
});

describe('open image (control)', () => {
  it('answers full/max at full size, publicly cacheable, without an auth service', async () => {
    const answer = await request(`/iiif/3/${OPEN}/full/max/0/default.jpg`);
    expect(answer.status).toBe(200);
    expect(await decodedSize(answer.body)).toEqual({ width: W, height: H });
    expect(answer.headers.get('cache-control')).toMatch(/\bpublic\b/);
    expect(answer.headers.get('cache-control')).not.toMatch(/\bprivate\b/);
    const info = JSON.parse((await request(`/iiif/3/${OPEN}/info.json`)).text) as Record<string, unknown>;
    expect(info.service).toBeUndefined();
    const tile = await request(`/iiif/3/${OPEN}~${open.revision}/0,0,512,512/512,512/0/default.jpg`);
    expect(tile.status).toBe(200);
    expect(await decodedSize(tile.body)).toEqual({ width: 512, height: 512 });
  });

  it('never answered with a server error', () => {
    expect(serverErrors).toEqual([]);
  });
});
