/**
 * The dynamic Image API end to end: the real one-machine HTTP server (stored file first, then the Image API) over
 * the S3 and DynamoDB stand-ins, with a painting ingested by the real pipeline. Pixels are compared with the master
 * cut and scaled directly by sharp, so every answer is checked against the specification's meaning, not against
 * the renderer's own arithmetic. A few requests go through the Lambda adapter with API Gateway events.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageItem } from '../../functions/core/image-item.ts';
import type { Region } from '../../functions/core/pyramid.ts';
import { answerImageRequest, type ImageApiDeps } from '../../functions/image-api/answer-image-request.ts';
import { createImageApiHandler } from '../../functions/image-api/handler.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';

const MASTER = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/images/bentheim.jpg'));
/** The master's size: at 512-pixel tiles a pyramid of four levels (scale factors 1, 2, 4, 8). */
const W = 3000;
const H = 2279;
const ID = 'test:painting';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const STABLE = 'public, max-age=300, s-maxage=60';
const PROFILE3 = 'http://iiif.io/api/image/3/level2.json';
const PROFILE2 = 'http://iiif.io/api/image/2/level2.json';
const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };
/**
 * Mean absolute difference per channel (0–255) an answer may have from the reference: the pyramid's JPEG tiles
 * alone account for about 1–3.5. Shifting the picture by one output pixel adds about 2.
 */
const TOLERANCE = { lossy: 6, lossless: 4 };

// ---------------------------------------------------------------------------------------------------------------
// The system

async function startWithPainting(env: Record<string, string> = {}): Promise<{ system: LocalSystem; revision: string }> {
  const system = await startLocalSystem({ port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH, ...env } });
  await upload(system, 'test/painting.jpg', MASTER);
  const published = (await item(system, ID)).published;
  if (!published) throw new Error(`${ID} was not published`);
  return { system, revision: published.revision };
}

/** Upload a master and wait until the pipeline has handled it (s3rver notifies after responding). */
async function upload(system: LocalSystem, key: string, body: Buffer): Promise<void> {
  await system.ingest.putBody(key, body, { contentType: 'application/octet-stream' });
  await new Promise((r) => setTimeout(r, 300));
  await system.queue.idle();
}

async function item(system: LocalSystem, identifier: string): Promise<ImageItem> {
  const found = await system.items.get(identifier);
  if (!found) throw new Error(`no item for ${identifier}`);
  return found;
}

let system: LocalSystem;
let revision: string;
/** The decoded master, the reference every rendered answer is compared with. */
let masterPixels: { data: Buffer; info: OutputInfo };

beforeAll(async () => {
  ({ system, revision } = await startWithPainting());
  masterPixels = await sharp(MASTER).raw().toBuffer({ resolveWithObject: true });
  expect([masterPixels.info.width, masterPixels.info.height]).toEqual([W, H]);
}, 120_000);

afterAll(async () => {
  await system?.close();
});

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function get(path: string, init: RequestInit = {}, base = system.url): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { redirect: 'manual', ...init });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

const v3 = (rest: string, identifier = ID) => `/iiif/3/${identifier}/${rest}`;
const v2 = (rest: string, identifier = ID) => `/iiif/2/${identifier}/${rest}`;

// ---------------------------------------------------------------------------------------------------------------
// Pixels

interface Expected {
  /** In master pixels. */
  region: Region;
  /** Output size before rotation. */
  width: number;
  height: number;
  mirror?: boolean;
  degrees?: number;
  /** Background of an arbitrary rotation: transparent where the format has alpha. */
  transparent?: boolean;
  quality?: 'gray' | 'bitonal';
}

/**
 * What the specification says the answer shows, made from the master: region, size, mirror, rotation, quality in
 * that order (§4), one sharp pipeline per step because sharp orders the operations of one pipeline its own way.
 */
async function reference(e: Expected): Promise<Buffer> {
  const { data, info } = masterPixels;
  const lossless = (image: Sharp) => image.png({ compressionLevel: 0 }).toBuffer();
  let image = await lossless(
    sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .extract({ left: e.region.x, top: e.region.y, width: e.region.w, height: e.region.h })
      .resize(e.width, e.height, { fit: 'fill' }),
  );
  if (e.mirror) image = await lossless(sharp(image).flop());
  if (e.degrees) image = await lossless(sharp(image).rotate(e.degrees, { background: e.transparent ? TRANSPARENT : WHITE }));
  if (e.quality === 'gray') image = await lossless(sharp(image).grayscale());
  if (e.quality === 'bitonal') image = await lossless(sharp(image).threshold(128, { grayscale: true }));
  return image;
}

interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Raw pixels to compare: alpha flattened onto white (so transparent corners agree on both sides), sRGB or grey. */
async function pixels(image: Buffer, mode: 'rgb' | 'gray'): Promise<Pixels> {
  const { data, info } = await sharp(image).flatten({ background: '#ffffff' }).toColourspace(mode === 'gray' ? 'b-w' : 'srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function meanAbsoluteDifference(a: Pixels, b: Pixels): number {
  expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, b.channels]);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

async function sizeOf(image: Buffer): Promise<[number | undefined, number | undefined]> {
  const { width, height } = await sharp(image).metadata();
  return [width, height];
}

/**
 * GET an image (following a redirect to a stored render) and compare it with the reference. Returns the answer
 * for further checks.
 */
async function expectImage(path: string, e: Expected, options: { type?: string } = {}): Promise<Answer> {
  const answer = await get(path, { redirect: 'follow' });
  expect(answer.status, `${path}: ${answer.body.toString().slice(0, 200)}`).toBe(200);
  expect(answer.headers.get('content-type'), path).toBe(options.type ?? 'image/jpeg');
  const mode = e.quality ? 'gray' : 'rgb';
  const [got, want] = await Promise.all([pixels(answer.body, mode), reference(e).then((r) => pixels(r, mode))]);
  expect([got.width, got.height], path).toEqual([want.width, want.height]);
  const mad = meanAbsoluteDifference(got, want);
  const lossless = ['image/png', 'image/tiff'].includes(answer.headers.get('content-type') ?? '');
  expect(mad, path).toBeLessThan(lossless ? TOLERANCE.lossless : TOLERANCE.lossy);
  return answer;
}

const FULL: Region = { x: 0, y: 0, w: W, h: H };
/** `full/400,` — 400 × round(2279 × 400 / 3000). */
const SMALL = { region: FULL, width: 400, height: 304 };

// ---------------------------------------------------------------------------------------------------------------
// Storage reads, observed on the S3 client every store of the system shares

interface Read {
  command: string;
  bucket: string;
  key: string;
  found: boolean;
}

/** Objects the system read successfully, in order. */
const fetched = (reads: Read[]) => reads.filter((r) => r.found && r.command === 'GetObjectCommand').map((r) => r.key);

async function recordingReads<T>(s3: S3Client, action: () => Promise<T>): Promise<{ result: T; reads: Read[] }> {
  const reads: Read[] = [];
  const name = 'image-api-test-recorder';
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string };
      const read = { command: context.commandName ?? '?', bucket: input.Bucket ?? '', key: input.Key ?? '', found: false };
      reads.push(read);
      const out = await next(args);
      read.found = true;
      return out;
    },
    { step: 'initialize', name },
  );
  try {
    return { result: await action(), reads };
  } finally {
    s3.middlewareStack.remove(name);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Lambda

const lambdaContext = {
  functionName: 'imagehub-image-api',
  functionVersion: '$LATEST',
  awsRequestId: 'test-request',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:imagehub-image-api',
  memoryLimitInMB: '2048',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

function apiGatewayEvent(method: string, rawPath: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'request',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2025:00:00:00 +0000',
      timeEpoch: 0,
    },
  };
}

function invokeLambda(deps: ImageApiDeps, method: string, path: string, headers: Record<string, string> = {}): Promise<APIGatewayProxyStructuredResultV2> {
  const handler = createImageApiHandler(deps, new Logger({ serviceName: 'imagehub-image-api', logLevel: 'SILENT' }));
  return handler(apiGatewayEvent(method, path, headers), lambdaContext);
}

// ===============================================================================================================

describe('regions', () => {
  it('full: the whole image at full size, composited from every full-resolution tile', async () => {
    // 3000×2279 as PNG is larger than an inline answer: the 303 to the stored render is followed.
    await expectImage(v3('full/max/0/default.png'), { region: FULL, width: W, height: H }, { type: 'image/png' });
  });

  it('square: the centred square of the shorter side', async () => {
    await expectImage(v3('square/300,/0/default.jpg'), { region: { x: 360, y: 0, w: H, h: H }, width: 300, height: 300 });
  });

  it('x,y,w,h on the tile grid, read from a coarser level', async () => {
    await expectImage(v3('512,512,512,512/256,/0/default.jpg'), { region: { x: 512, y: 512, w: 512, h: 512 }, width: 256, height: 256 });
  });

  it('x,y,w,h off the tile grid', async () => {
    await expectImage(v3('700,300,900,650/450,/0/default.jpg'), { region: { x: 700, y: 300, w: 900, h: 650 }, width: 450, height: 325 });
  });

  it('x,y,w,h partly outside the image: cropped at the edge', async () => {
    const answer = await expectImage(v3('2800,2100,500,500/max/0/default.jpg'), { region: { x: 2800, y: 2100, w: 200, h: 179 }, width: 200, height: 179 });
    expect(answer.headers.get('link')).toContain(`/iiif/3/${ID}/2800,2100,200,179/max/0/default.jpg>;rel="canonical"`);
  });

  it('pct:x,y,w,h: edges rounded to the nearest pixel', async () => {
    // x 10% of 3000 = 300, right edge 40% = 1200; y 20% of 2279 = 455.8 → 456, bottom 60% = 1367.4 → 1367.
    await expectImage(v3('pct:10,20,30,40/max/0/default.jpg'), { region: { x: 300, y: 456, w: 900, h: 911 }, width: 900, height: 911 });
  });
});

describe('sizes', () => {
  it('w, keeps the aspect ratio', async () => {
    await expectImage(v3('full/600,/0/default.jpg'), { region: FULL, width: 600, height: 456 });
  });

  it(',h keeps the aspect ratio', async () => {
    await expectImage(v3('full/,400/0/default.jpg'), { region: FULL, width: 527, height: 400 });
  });

  it('pct:n scales both sides', async () => {
    await expectImage(v3('full/pct:10/0/default.jpg'), { region: FULL, width: 300, height: 228 });
  });

  it('w,h distorts', async () => {
    await expectImage(v3('full/500,500/0/default.jpg'), { region: FULL, width: 500, height: 500 });
    await expectImage(v3('full/1000,100/0/default.jpg'), { region: FULL, width: 1000, height: 100 });
  });

  it('!w,h fits inside the box', async () => {
    await expectImage(v3('full/!400,400/0/default.jpg'), { region: FULL, width: 400, height: 304 });
  });

  it('^ scales a region up, within the limits', async () => {
    await expectImage(v3('100,100,200,150/^400,/0/default.jpg'), { region: { x: 100, y: 100, w: 200, h: 150 }, width: 400, height: 300 });
  });
});

describe('rotation and mirroring', () => {
  it.each([90, 180, 270])('%i degrees: clockwise, sides swapped at 90 and 270', async (degrees) => {
    const answer = await expectImage(v3(`full/400,/${degrees}/default.jpg`), { ...SMALL, degrees });
    expect(await sizeOf(answer.body)).toEqual(degrees === 180 ? [400, 304] : [304, 400]);
  });

  it('an arbitrary angle: the bounding box, transparent corners in PNG', async () => {
    const answer = await expectImage(v3('full/400,/22.5/default.png'), { ...SMALL, degrees: 22.5, transparent: true }, { type: 'image/png' });
    const radians = (22.5 * Math.PI) / 180;
    const [width, height] = await sizeOf(answer.body);
    expect(Math.abs(width! - (400 * Math.cos(radians) + 304 * Math.sin(radians)))).toBeLessThan(2);
    expect(Math.abs(height! - (400 * Math.sin(radians) + 304 * Math.cos(radians)))).toBeLessThan(2);
    const { data, info } = await sharp(answer.body).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    for (const [x, y] of [[0, 0], [width! - 1, 0], [0, height! - 1], [width! - 1, height! - 1]] as const) {
      expect(data[(y * info.width + x) * 4 + 3], `alpha at ${x},${y}`).toBe(0);
    }
    // The centre is the painting, opaque.
    expect(data[(Math.floor(height! / 2) * info.width + Math.floor(width! / 2)) * 4 + 3]).toBe(255);
  });

  it('an arbitrary angle in JPEG: white corners', async () => {
    const answer = await expectImage(v3('full/400,/22.5/default.jpg'), { ...SMALL, degrees: 22.5 });
    const { data, info } = await sharp(answer.body).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    for (const channel of data.subarray(0, 3)) expect(channel).toBeGreaterThan(245);
  });

  it('!0 mirrors', async () => {
    await expectImage(v3('full/400,/!0/default.jpg'), { ...SMALL, mirror: true });
  });

  it('!90 mirrors, then rotates', async () => {
    const answer = await expectImage(v3('full/400,/!90/default.jpg'), { ...SMALL, mirror: true, degrees: 90 });
    expect(await sizeOf(answer.body)).toEqual([304, 400]);
  });
});

describe('qualities', () => {
  it('gray: one grey channel', async () => {
    for (const format of ['png', 'jpg'] as const) {
      const answer = await expectImage(v3(`full/400,/0/gray.${format}`), { ...SMALL, quality: 'gray' }, { type: format === 'png' ? 'image/png' : 'image/jpeg' });
      const { data, info } = await sharp(answer.body).raw().toBuffer({ resolveWithObject: true });
      if (info.channels >= 3) {
        for (let i = 0; i < data.length; i += info.channels) expect(data[i] === data[i + 1] && data[i] === data[i + 2]).toBe(true);
      } else {
        expect(info.channels).toBe(1);
      }
    }
  });

  it('bitonal: only black and white, where the reference puts them', async () => {
    const answer = await get(v3('full/400,/0/bitonal.png'));
    expect(answer.status).toBe(200);
    const got = await pixels(answer.body, 'gray');
    expect(new Set(got.data)).toEqual(new Set([0, 255]));
    const want = await pixels(await reference({ ...SMALL, quality: 'bitonal' }), 'gray');
    const disagreeing = got.data.reduce((n, v, i) => n + (v === want.data[i] ? 0 : 1), 0);
    // Pixels near the threshold may fall either way after two JPEG generations; the picture may not.
    expect(disagreeing / got.data.length).toBeLessThan(0.05);
  });

  it('color is the default quality: same pixels, canonical name default', async () => {
    const answer = await expectImage(v3('full/400,/0/color.jpg'), SMALL);
    expect(answer.headers.get('link')).toContain(`/iiif/3/${ID}/full/400,304/0/default.jpg>;rel="canonical"`);
  });
});

describe('formats', () => {
  it.each([
    ['png', 'image/png', 'png'],
    ['webp', 'image/webp', 'webp'],
    ['tif', 'image/tiff', 'tiff'],
    ['gif', 'image/gif', 'gif'],
  ])('%s: %s of the right size', async (extension, type, decoded) => {
    const answer = await expectImage(v3(`full/400,/0/default.${extension}`), SMALL, { type });
    const meta = await sharp(answer.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual([decoded, 400, 304]);
  });
});

describe('Image API 2.1', () => {
  it('full size is the region at full resolution', async () => {
    await expectImage(v2('full/full/0/default.jpg'), { region: FULL, width: W, height: H });
    await expectImage(v2('512,1024,700,300/full/0/default.png'), { region: { x: 512, y: 1024, w: 700, h: 300 }, width: 700, height: 300 }, { type: 'image/png' });
  });

  it('w, above the region upscales without ^', async () => {
    await expectImage(v2('100,100,200,150/400,/0/default.jpg'), { region: { x: 100, y: 100, w: 200, h: 150 }, width: 400, height: 300 });
  });

  it('links the 2.1 canonical form and profile', async () => {
    const answer = await expectImage(v2('full/600,/0/default.png'), { region: FULL, width: 600, height: 456 }, { type: 'image/png' });
    expect(answer.headers.get('link')).toBe(`<${system.url}/iiif/2/${ID}/full/600,/0/default.png>;rel="canonical", <${PROFILE2}>;rel="profile"`);
  });

  it('refuses 3.0 syntax', async () => {
    const answer = await get(v2('full/^400,/0/default.jpg'));
    expect(answer.status).toBe(400);
    expect(answer.body.toString()).toMatch(/size.*\^ is Image API 3\.0 syntax/);
  });
});

describe('HTTP', () => {
  it('redirects the base URI to info.json', async () => {
    for (const path of [`/iiif/3/${ID}`, `/iiif/3/${ID}/`]) {
      const answer = await get(path);
      expect(answer.status, path).toBe(303);
      expect(answer.headers.get('location')).toBe(`${system.url}/iiif/3/${ID}/info.json`);
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    }
  });

  it('answers OPTIONS preflights with CORS', async () => {
    const answer = await get(v3('full/400,/0/default.png'), { method: 'OPTIONS' });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-allow-methods')).toContain('GET');
    expect(answer.body.length).toBe(0);
  });

  it('sends CORS headers with images and with errors', async () => {
    for (const path of [v3('full/400,/0/default.png'), v3('full/max/0/default.bmp'), v3('full/max/0/default.jpg', 'test:nothing')]) {
      expect((await get(path)).headers.get('access-control-allow-origin'), path).toBe('*');
    }
  });

  it('links the canonical URL of a request in another form, and the profile', async () => {
    // pct:10,20,30,40 is 300,456,900,911; half of it is 450 × round(455.5).
    const answer = await get(v3('pct:10,20,30,40/pct:50/0/color.jpg'));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('link')).toBe(`<${system.url}/iiif/3/${ID}/300,456,900,911/450,456/0/default.jpg>;rel="canonical", <${PROFILE3}>;rel="profile"`);
  });

  it('caches revision URLs for ever, stable ones briefly, errors never', async () => {
    const path = 'full/100,/0/default.png';
    expect((await get(v3(path, `${ID}~${revision}`))).headers.get('cache-control')).toBe(IMMUTABLE);
    expect((await get(v3(path))).headers.get('cache-control')).toBe(STABLE);
    expect((await get(v3('full/max/0/default.bmp'))).headers.get('cache-control')).toBe('no-store');
    expect((await get(v3(path, 'test:nothing'))).headers.get('cache-control')).toBe('no-store');
  });

  it('answers If-None-Match with 304 and no body', async () => {
    const first = await get(v3('full/150,/0/default.webp'));
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    // The same image asked for in another form has the same ETag.
    expect((await get(v3('full/pct:5/0/color.webp'))).headers.get('etag')).toBe(etag);
    const again = await get(v3('full/150,/0/default.webp'), { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.get('etag')).toBe(etag);
  });

  it('answers HEAD with the headers and no body', async () => {
    const answer = await get(v3('full/200,/0/default.png'), { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('image/png');
    expect(answer.headers.get('link')).toContain('rel="canonical"');
    expect(answer.body.length).toBe(0);
  });

  it('answers 404 in plain text for an unknown identifier', async () => {
    const answer = await get(v3('full/max/0/default.jpg', 'test:nothing'));
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(answer.body.toString()).toMatch(/no image with identifier "test:nothing"/);
  });

  it('keeps answering for the revision just replaced, and 404 for older ones, pointing to the current info.json', async () => {
    const small = (width: number) => sharp(MASTER).resize(width).jpeg({ quality: 90 }).toBuffer();
    await upload(system, 'test/replaced.jpg', await small(600));
    const first = (await item(system, 'test:replaced')).published!.revision;
    await upload(system, 'test/replaced.jpg', await small(500));
    const second = (await item(system, 'test:replaced')).published!.revision;
    expect(second).not.toBe(first);

    // A viewer that loaded the first info.json before the replace still gets its renders, at the first size.
    const previous = await get(v3('full/max/0/default.png', `test:replaced~${first}`));
    expect(previous.status).toBe(200);
    expect((await sharp(previous.body).metadata()).width).toBe(600);

    await upload(system, 'test/replaced.jpg', await small(400));
    const third = (await item(system, 'test:replaced')).published!.revision;
    expect(third).not.toBe(second);
    const old = await get(v3('full/100,/0/default.png', `test:replaced~${first}`));
    expect(old.status).toBe(404);
    expect(old.headers.get('cache-control')).toBe('no-store');
    expect(old.body.toString()).toContain(`${system.url}/iiif/3/test:replaced/info.json`);
    expect((await get(v3('full/100,/0/default.png', `test:replaced~${second}`))).status).toBe(200);
    expect((await get(v3('full/100,/0/default.png', `test:replaced~${third}`))).status).toBe(200);
  });

  it.each([
    ['0,0,0/max/0/default.jpg', /invalid region/],
    ['full/large/0/default.jpg', /invalid size/],
    ['full/max/abc/default.jpg', /invalid rotation/],
    ['full/max/400/default.jpg', /invalid rotation.*more than 360/],
    ['full/max/0/sepia.jpg', /invalid quality/],
    ['full/max/0/default.bmp', /invalid format/],
    ['full/max/0/default', /invalid quality and format/],
    ['full/max/0', /expected \{region\}\/\{size\}\/\{rotation\}\/\{quality\}\.\{format\}/],
  ])('answers 400 naming the part for %s', async (path, reason) => {
    const answer = await get(v3(path));
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(answer.body.toString()).toMatch(reason);
  });

  it('answers 400 for sizes the specification refuses', async () => {
    // Above maxArea (16 777 216) even with ^: 5000 × 3798.
    expect((await get(v3('full/^5000,/0/default.jpg'))).body.toString()).toMatch(/exceeds this image's limits/);
    // Larger than the region without ^ (3.0).
    const larger = await get(v3('0,0,100,100/200,/0/default.jpg'));
    expect(larger.status).toBe(400);
    expect(larger.body.toString()).toMatch(/prefix it with \^/);
    // A region wholly outside the image.
    const outside = await get(v3(`${W},0,10,10/max/0/default.jpg`));
    expect(outside.status).toBe(400);
    expect(outside.body.toString()).toMatch(/entirely outside/);
  });

  it('answers 501 for ^ where the service does not upscale', async () => {
    const answer = await answerImageRequest(
      { method: 'GET', path: v3('0,0,100,100/^200,/0/default.jpg'), headers: {} },
      { items: system.items, derivatives: system.derivatives, settings: { ...system.settings, upscaling: false } },
    );
    expect(answer.status).toBe(501);
  });
});

describe('size limits of a service with a small maxArea', () => {
  let limited: LocalSystem;
  beforeAll(async () => {
    ({ system: limited } = await startWithPainting({ IMAGEHUB_MAX_AREA: '1000000' }));
  }, 120_000);
  afterAll(async () => {
    await limited?.close();
  });

  it('serves max as the largest size within maxArea', async () => {
    const answer = await get(v3('full/max/0/default.jpg'), {}, limited.url);
    expect(answer.status).toBe(200);
    // 3000 × 2279 scaled by √(10⁶ / 6 837 000), rounded down.
    expect(await sizeOf(answer.body)).toEqual([1147, 871]);
  });

  it('answers 2.1 full/full of an image above maxArea with 404, and sizes above it with 404 (2.1) or 400 (3.0)', async () => {
    const full = await get(v2('full/full/0/default.jpg'), {}, limited.url);
    expect(full.status).toBe(404);
    expect(full.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(full.body.toString()).toMatch(/exceeds this image's limits/);
    expect((await get(v2('full/1200,/0/default.jpg'), {}, limited.url)).status).toBe(404);
    expect((await get(v3('full/1200,/0/default.jpg'), {}, limited.url)).status).toBe(400);
  });

  it('upscales up to maxArea and no further', async () => {
    const within = await get(v3('0,0,500,500/^1000,1000/0/default.jpg'), {}, limited.url);
    expect(within.status).toBe(200);
    expect(await sizeOf(within.body)).toEqual([1000, 1000]);
    expect((await get(v3('0,0,500,500/^1001,1000/0/default.jpg'), {}, limited.url)).status).toBe(400);
  });
});

describe('rendering from the pyramid', () => {
  const tile = (path: string) => `iiif/3/${ID}~${revision}/${path}`;

  it('reads only the four full-resolution tiles under a 256×256 crop, and never the master', async () => {
    // x 1000–1255 spans tile columns 1 and 2, y 900–1155 rows 1 and 2.
    const { result, reads } = await recordingReads(system.s3, () => get(v3('1000,900,256,256/max/0/default.jpg')));
    expect(result.status).toBe(200);
    expect(reads.filter((r) => r.bucket !== system.settings.derivativeBucket)).toEqual([]);
    const found = fetched(reads);
    expect(found.sort()).toEqual(
      ['512,512,512,512', '1024,512,512,512', '512,1024,512,512', '1024,1024,512,512'].map((region) => tile(`${region}/512,512/0/default.jpg`)).sort(),
    );
    await expectImage(v3('1000,900,256,256/max/0/default.jpg'), { region: { x: 1000, y: 900, w: 256, h: 256 }, width: 256, height: 256 });
  });

  it('reads one tile of the coarsest sufficient level for a thumbnail', async () => {
    // 3000 / 200 = 15: scale factor 8 (375 × 285, one tile) still has the resolution.
    const { result, reads } = await recordingReads(system.s3, () => get(v3('full/200,/0/default.png')));
    expect(result.status).toBe(200);
    expect(fetched(reads)).toEqual([tile('full/375,285/0/default.jpg')]);
  });
});

describe('lossless full-resolution crops of a TIFF master', () => {
  const TIFF_ID = 'test:tiff-master';
  const TIFF_KEY = 'test/tiff-master.tif';
  /** 8-bit sRGB, untagged, tiled deflate: the kind of master whose PNG crops must be its very pixels. */
  let tiff: Buffer;
  let tiffPixels: { data: Buffer; width: number; height: number };
  beforeAll(async () => {
    tiff = await sharp(MASTER).resize(2400).tiff({ compression: 'deflate', predictor: 'horizontal', tile: true, tileWidth: 256, tileHeight: 256 }).toBuffer();
    const { data, info } = await sharp(tiff).raw().toBuffer({ resolveWithObject: true });
    tiffPixels = { data, width: info.width, height: info.height };
    await upload(system, TIFF_KEY, tiff);
    const stored = await item(system, TIFF_ID);
    expect(stored.source).toMatchObject({ format: 'tiff', width: 2400, bucket: system.ingestBucket, key: TIFF_KEY });
    expect(stored.source?.etag).toBeDefined();
  }, 120_000);

  interface MasterRead {
    command: string;
    bucket: string;
    key: string;
    range?: string;
    ifMatch?: string;
  }

  /** Every S3 call the system makes during `action`, with the Range and If-Match of GETs. */
  async function recordingS3Calls<T>(action: () => Promise<T>): Promise<{ result: T; calls: MasterRead[] }> {
    const calls: MasterRead[] = [];
    const name = 'image-api-test-master-reads';
    system.s3.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Bucket?: string; Key?: string; Range?: string; IfMatch?: string };
        calls.push({ command: context.commandName ?? '?', bucket: input.Bucket ?? '', key: input.Key ?? '', range: input.Range, ifMatch: input.IfMatch });
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      return { result: await action(), calls };
    } finally {
      system.s3.middlewareStack.remove(name);
    }
  }

  const onIngest = (calls: MasterRead[]) => calls.filter((c) => c.bucket === system.ingestBucket);
  const rangeLength = (range: string) => {
    const [from, to] = range.replace('bytes=', '').split('-').map(Number);
    return to! - from! + 1;
  };

  function expectExactly(image: Buffer, region: Region): Promise<void> {
    return sharp(image)
      .raw()
      .toBuffer({ resolveWithObject: true })
      .then(({ data, info }) => {
        expect([info.width, info.height, info.channels]).toEqual([region.w, region.h, 3]);
        let max = 0;
        for (let row = 0; row < region.h; row++) {
          for (let i = 0; i < region.w * 3; i++) {
            const want = tiffPixels.data[((region.y + row) * tiffPixels.width + region.x) * 3 + i]!;
            max = Math.max(max, Math.abs(data[row * region.w * 3 + i]! - want));
          }
        }
        expect(max).toBe(0);
      });
  }

  it('answers a full-resolution PNG crop with the master’s exact pixels, read by ranged GETs only', async () => {
    const region = { x: 1000, y: 700, w: 300, h: 200 };
    const path = v3(`${region.x},${region.y},${region.w},${region.h}/max/0/default.png`, TIFF_ID);
    const { result, calls } = await recordingS3Calls(() => get(path));
    expect(result.status, result.body.toString().slice(0, 200)).toBe(200);
    expect(result.headers.get('content-type')).toBe('image/png');
    await expectExactly(result.body, region);

    const masterReads = onIngest(calls);
    expect(masterReads.length).toBeGreaterThan(0);
    for (const read of masterReads) {
      expect(read.command).toBe('GetObjectCommand');
      expect(read.range).toMatch(/^bytes=\d+-\d+$/); // never a whole-object GET
      expect(read.ifMatch).toBe(`"${(await item(system, TIFF_ID)).source!.etag}"`);
    }
    const bytes = masterReads.reduce((sum, r) => sum + rangeLength(r.range!), 0);
    expect(bytes).toBeLessThan(tiff.length / 4);
    // No tile was read.
    expect(calls.filter((c) => c.bucket === system.settings.derivativeBucket && c.key.endsWith('.jpg'))).toEqual([]);
  });

  it('answers TIFF the same way, and applies mirroring and rotation to the master’s pixels', async () => {
    const region = { x: 37, y: 1411, w: 250, h: 180 };
    const { result, calls } = await recordingS3Calls(() => get(v3(`${region.x},${region.y},${region.w},${region.h}/max/0/default.tif`, TIFF_ID)));
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('image/tiff');
    await expectExactly(result.body, region);
    expect(onIngest(calls).every((c) => c.range)).toBe(true);

    const turned = await recordingS3Calls(() => get(v3(`${region.x},${region.y},${region.w},${region.h}/max/!180/default.png`, TIFF_ID)));
    expect(turned.result.status).toBe(200);
    expect(onIngest(turned.calls).length).toBeGreaterThan(0);
    // Mirrored then turned by 180°: the master's region upside down.
    const back = await sharp(turned.result.body).flip().png().toBuffer();
    await expectExactly(back, region);
  });

  it('answers the same crop as JPEG, or scaled, from the pyramid without touching the master', async () => {
    for (const path of ['1000,700,300,200/max/0/default.jpg', '1000,700,300,200/150,/0/default.png', 'full/600,/0/default.png']) {
      const { result, calls } = await recordingS3Calls(() => get(v3(path, TIFF_ID)));
      expect(result.status, path).toBe(200);
      expect(onIngest(calls), path).toEqual([]);
    }
  });

  it('answers a full-resolution PNG crop of a JPEG master from the pyramid', async () => {
    const region = { x: 1000, y: 900, w: 256, h: 256 };
    const { result, calls } = await recordingS3Calls(() =>
      expectImage(v3('1000,900,256,256/max/0/default.png'), { region, width: 256, height: 256 }, { type: 'image/png' }),
    );
    expect(result.status).toBe(200);
    expect(onIngest(calls)).toEqual([]);
  });

  it('falls back to the pyramid when the master changed since the revision was published', async () => {
    const key = (await item(system, TIFF_ID)).source!;
    // ObjectStore.readRange gives nothing for another ETag (S3 answers 412 to If-Match; the stand-in is checked).
    expect(await system.ingest.readRange(TIFF_KEY, 0, 8, { ifMatch: 'not-the-etag' })).toBeUndefined();
    expect((await system.ingest.readRange(TIFF_KEY, 0, 8, { ifMatch: key.etag! }))?.length).toBe(8);

    const logged: { level: string; details: Record<string, unknown> }[] = [];
    const deps: ImageApiDeps = {
      items: system.items,
      derivatives: system.derivatives,
      settings: system.settings,
      masters: () => ({ readRange: () => Promise.resolve(undefined) }), // as if replaced under the same key
      log: (level, _message, details) => logged.push({ level, details }),
    };
    const answer = await answerImageRequest({ method: 'GET', path: v3('1000,700,300,200/max/0/default.png', TIFF_ID), headers: {} }, deps);
    expect(answer.status).toBe(200);
    expect(await sizeOf(Buffer.from(answer.body as Uint8Array))).toEqual([300, 200]);
    expect(logged).toEqual([{ level: 'info', details: expect.objectContaining({ identifier: TIFF_ID, reason: expect.stringMatching(/replaced/) }) }]);
  });
});

describe('answers too large to send inline', () => {
  it('are stored under the canonical URL of the revision, where the router serves the same bytes from storage', async () => {
    const deps: ImageApiDeps = { items: system.items, derivatives: system.derivatives, settings: { ...system.settings, maxInlineBytes: 10_000 } };
    const answer = await answerImageRequest({ method: 'GET', path: v3('full/1000,/0/gray.png'), headers: {} }, deps);
    const canonical = `/iiif/3/${ID}~${revision}/full/1000,760/0/gray.png`;
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe(`${system.url}${canonical}`);
    expect(answer.headers['access-control-allow-origin']).toBe('*');

    const { result: stored, reads } = await recordingReads(system.s3, () => get(canonical));
    expect(stored.status).toBe(200);
    expect(stored.headers.get('content-type')).toBe('image/png');
    expect(stored.headers.get('cache-control')).toBe(IMMUTABLE);
    // Served as a stored object: one read, no tiles.
    expect(fetched(reads)).toEqual([canonical.slice(1)]);
    const inline = await answerImageRequest({ method: 'GET', path: v3('full/1000,/0/gray.png'), headers: {} }, { ...deps, settings: system.settings });
    expect(inline.status).toBe(200);
    expect(Buffer.compare(stored.body, Buffer.from(inline.body as Uint8Array))).toBe(0);
    expect(await sizeOf(stored.body)).toEqual([1000, 760]);
  });
});

describe('the Lambda adapter', () => {
  const deps = () => ({ items: system.items, derivatives: system.derivatives, settings: system.settings });

  it('returns images base64-encoded, with the headers of the answer', async () => {
    const result = await invokeLambda(deps(), 'GET', v3('full/300,/90/default.png'));
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(true);
    expect(result.headers).toMatchObject({ 'content-type': 'image/png', 'cache-control': STABLE, 'access-control-allow-origin': '*' });
    const body = Buffer.from(result.body!, 'base64');
    expect(await sizeOf(body)).toEqual([228, 300]);
    // The very bytes the router sends.
    expect(Buffer.compare(body, (await get(v3('full/300,/90/default.png'))).body)).toBe(0);
  });

  it('returns errors as plain text, and 303, 304 and HEAD without a body', async () => {
    const error = await invokeLambda(deps(), 'GET', v3('full/max/0/default.bmp'));
    expect([error.statusCode, error.isBase64Encoded, error.headers?.['cache-control']]).toEqual([400, false, 'no-store']);
    expect(error.body).toMatch(/invalid format "bmp"/);

    const base = await invokeLambda(deps(), 'GET', `/iiif/3/${ID}`);
    expect([base.statusCode, base.headers?.location, base.body]).toEqual([303, `${system.url}/iiif/3/${ID}/info.json`, '']);

    const image = await invokeLambda(deps(), 'GET', v3('full/120,/0/default.jpg'));
    const etag = String(image.headers?.etag);
    const notModified = await invokeLambda(deps(), 'GET', v3('full/120,/0/default.jpg'), { 'if-none-match': etag });
    expect([notModified.statusCode, notModified.body, notModified.isBase64Encoded]).toEqual([304, '', false]);

    const head = await invokeLambda(deps(), 'HEAD', v3('full/120,/0/default.jpg'));
    expect([head.statusCode, head.body, head.headers?.['content-type']]).toEqual([200, '', 'image/jpeg']);
  });

  it('builds public URLs from the viewer host the CDN forwards when no public URL is configured', async () => {
    const behindCdn = { ...deps(), settings: { ...system.settings, publicUrl: '' } };
    const result = await invokeLambda(behindCdn, 'GET', v3('full/120,/0/default.jpg'), { 'x-imagehub-viewer-host': 'images.example.org' });
    expect(result.statusCode).toBe(200);
    expect(result.headers?.link).toBe(`<https://images.example.org/iiif/3/${ID}/full/120,91/0/default.jpg>;rel="canonical", <${PROFILE3}>;rel="profile"`);
    expect((await invokeLambda(behindCdn, 'GET', v3('full/120,/0/default.jpg'))).statusCode).toBe(400);
  });

  it('answers 500 without details when storage fails', async () => {
    const derivatives = { get: () => Promise.resolve(undefined), getBytes: () => Promise.reject(new Error('storage unreachable')), putBody: () => Promise.resolve() };
    const failing = { ...deps(), derivatives };
    const result = await invokeLambda(failing, 'GET', v3('full/130,/0/default.png'));
    expect(result.statusCode).toBe(500);
    expect(result.headers).toMatchObject({ 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
    expect(result.body).not.toContain('storage unreachable');
  });
});

describe('no 500 from client input', () => {
  it.each([
    // Within maxArea, but wider than the encoders write.
    ['full/^16777216,1/0/default.jpg', 400],
    ['0,0,1,1/^17000,1/0/default.webp', 400],
    ['0,0,1,1/^16777216,1/45/default.png', 400],
    ['0,0,1,1/^60000,1/0/default.png', 200],
    // Within maxArea and the encoder, but turned 45° the bounding box would be over 140 megapixels.
    ['0,0,1,1/^16000,1000/45/default.png', 400],
    ['0,0,1,1/^4000,4/45/default.png', 200],
  ])('%s → %i', async (path, status) => {
    expect((await get(v3(path))).status).toBe(status);
  });

  it.each([
    // The table refuses keys over 2 kB; the S3 stand-in fails on NUL and on path segments over 255 bytes.
    ['3000 characters', `/iiif/3/${'a'.repeat(3000)}/info.json`],
    ['300 characters', `/iiif/3/${'a'.repeat(300)}/full/max/0/default.jpg`],
    ['NUL', '/iiif/3/%00/info.json'],
    ['NUL as revision', `/iiif/3/${ID}~%00/info.json`],
    ['encoded dot segments', '/iiif/3/a%2F..%2F..%2Fx/info.json'],
  ])('an identifier no ingest can produce (%s) → 404', async (_name, path) => {
    expect((await get(path)).status).toBe(404);
  });

  it('answers every request path with a status the specification names, never 500', async () => {
    // Mostly well-formed parameters, so requests get past the parser into validation and rendering; some odd ones.
    const int = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 3100 }) },
      fc.constantFrom(0, 1, 2279, 3000, 4096, 65_535, 65_536, 16_777_216, 2 ** 31, 2 ** 53, 1e21),
    );
    const decimal = fc.oneof(
      { weight: 4, arbitrary: fc.oneof(int.map(String), fc.double({ min: 0, max: 400, noNaN: true }).map(String)) },
      fc.constantFrom('.5', '0.', '1e3', '-1', 'NaN', 'Infinity', '00012.50', '', '1'.repeat(400)),
    );
    const region = fc.oneof(
      fc.constantFrom('full', 'square'),
      fc.tuple(int, int, int, int).map((v) => v.join(',')),
      fc.tuple(decimal, decimal, decimal, decimal).map((v) => `pct:${v.join(',')}`),
    );
    // Within maxArea, but of an extreme aspect ratio.
    const extreme = fc.tuple(fc.constantFrom(1, 2, 100), fc.constantFrom(20_000, 65_536, 1_000_000, 16_777_216), fc.boolean()).map(([a, b, wide]) => (wide ? `${b},${a}` : `${a},${b}`));
    const size = fc
      .tuple(
        fc.constantFrom('', '', '^'),
        fc.oneof(
          fc.constantFrom('max', 'full'),
          int.map((w) => `${w},`),
          int.map((h) => `,${h}`),
          decimal.map((n) => `pct:${n}`),
          fc.tuple(fc.constantFrom('', '!'), int, int).map(([fit, w, h]) => `${fit}${w},${h}`),
          extreme,
        ),
      )
      .map(([up, s]) => up + s);
    const rotation = fc.tuple(fc.constantFrom('', '!'), fc.oneof(fc.constantFrom('0', '90', '180', '270', '360'), decimal)).map(([m, d]) => m + d);
    const quality = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('default', 'color', 'gray', 'bitonal') }, fc.constantFrom('sepia', '', 'Default'));
    const format = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('jpg', 'png', 'webp', 'tif', 'gif') }, fc.constantFrom('jp2', 'pdf', 'jpeg', '', 'jpg.jpg'));
    const identifier = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(ID, `${ID}~${revision}`, `${ID}~000000000000`, 'test%3Apainting', 'test:nothing', `${ID}~`) },
      fc.string({ unit: 'binary', maxLength: 8 }).map(encodeURIComponent),
      fc.integer({ min: 1, max: 3000 }).map((n) => 'a'.repeat(n)),
    );
    const image = fc.tuple(identifier, region, size, rotation, fc.tuple(quality, format).map(([q, f]) => `${q}.${f}`)).map((s) => [...s]);
    const other = fc.tuple(identifier, fc.constantFrom('info.json', '', 'info.xml')).map((s) => [...s]);
    const junk = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('%', '%zz', '%2F', '..', '.', '', 'info.json', '%E0%A4%A'));
    // Mutations of a well-formed path: a segment replaced, dropped, duplicated or percent-encoded, junk appended.
    const mutated = fc
      .tuple(fc.oneof({ weight: 5, arbitrary: image }, other), fc.nat(), junk, fc.constantFrom('none', 'none', 'none', 'replace', 'drop', 'duplicate', 'encode', 'append'))
      .map(([parts, at, text, how]) => {
        const i = at % parts.length;
        if (how === 'replace') parts[i] = text;
        if (how === 'drop') parts.splice(i, 1);
        if (how === 'duplicate') parts.splice(i, 0, parts[i]!);
        if (how === 'encode') parts[i] = [...parts[i]!].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
        if (how === 'append') parts.push(text);
        return parts.join('/');
      });
    const path = fc.tuple(fc.constantFrom('3', '3', '3', '2', '2', '4', ''), mutated).map(([version, rest]) => `/iiif/${version}/${rest}`);

    await fc.assert(
      fc.asyncProperty(path, fc.constantFrom('GET', 'GET', 'HEAD'), async (requestPath, method) => {
        const answer = await get(requestPath, { method });
        expect([200, 303, 304, 400, 404, 501], `${method} ${requestPath}: ${answer.body.toString().slice(0, 200)}`).toContain(answer.status);
      }),
      { numRuns: 200 },
    );
  }, 300_000);
});
