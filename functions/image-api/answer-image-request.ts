/**
 * One Image API request, answered: parse → find the image → validate against it (core) → a stored file if one
 * answers exactly, else render (from the pyramid; a lossless full-resolution crop of a TIFF master from byte ranges
 * of the master) → HTTP answer. The Lambda handler and the one-machine router both call this; neither adds IIIF
 * logic of its own.
 */
import { createHash } from 'node:crypto';
import { policyOf, pyramidFilePlacement, withinSizeLimit } from '../core/access-layout.ts';
import { AUTH2_CONTEXT, probeServiceFor } from '../core/auth.ts';
import { isIdentifier, revisionIdentifier, splitRevisionIdentifier } from '../core/identifier.ts';
import type { ImageItem, PublishedPyramid } from '../core/image-item.ts';
import {
  ImageRequestError,
  mediaTypeFor,
  parseImagePath,
  resolveImageRequest,
  type ApiVersion,
  type ImageFormat,
  type ResolvedImageRequest,
} from '../core/image-request.ts';
import { CACHE_IMMUTABLE, infoJsonKey, pyramidFileKey } from '../core/derivative-layout.ts';
import { IMAGE3_CONTEXT, INFO2_MEDIA_TYPE, INFO3_MEDIA_TYPE } from '../core/info-json.ts';
import { MAX_TILES_PER_REQUEST, planRender } from '../core/render-plan.ts';
import type { IngestSettings } from '../core/settings.ts';
import { CORS_HEADERS, FORWARDED_HOST } from '../core/http-headers.ts';
import { storedKeyForPath } from '../core/static-paths.ts';

import { MasterRegionUnavailable, readMasterRegion, renderMasterRegion, type RangeSource } from '../imaging/master-region.ts';
import { renderFromPyramid, type FinishOptions } from '../imaging/render-from-pyramid.ts';
import type { ObjectStore } from '../store/object-store.ts';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

export interface ImageApiDeps {
  items: { get(identifier: string, options?: { consistent?: boolean }): Promise<ImageItem | undefined> };
  derivatives: Pick<ObjectStore, 'get' | 'getBytes' | 'putBody'>;
  /** What the access policy keeps from the public (core/access-layout.ts); read for authorised users only. */
  protectedDerivatives?: Pick<ObjectStore, 'getBytes'>;
  /** Whether the request carries a valid access cookie (functions/core/auth.ts); without it nobody is authorised. */
  authorised?: (request: ImageApiRequest) => Promise<boolean>;
  settings: Pick<IngestSettings, 'publicUrl' | 'jpegQuality' | 'upscaling' | 'maxInlineBytes'>;
  /**
   * Ranged reads of masters in the bucket an image item names, for lossless full-resolution crops of TIFF masters
   * (see {@link renderFromMaster}). Without it every answer comes from the pyramid.
   */
  masters?: (bucket: string) => Pick<ObjectStore, 'readRange'>;
  /** Why a master did not give an answer it was eligible for (the pyramid gave it): `warn` when unexpected. */
  log?: (level: 'info' | 'warn', message: string, details: Record<string, unknown>) => void;
}

export interface ImageApiRequest {
  method: string;
  /** The raw (still percent-encoded) path, e.g. `/iiif/3/abc:1/full/max/0/default.jpg`. */
  path: string;
  headers: Record<string, string | undefined>;
}

const PROFILE = { 2: 'http://iiif.io/api/image/2/level2.json', 3: 'http://iiif.io/api/image/3/level2.json' } as const;
/** Addressed by the stable identifier, an image changes when its master is replaced: revalidate within minutes. */
const CACHE_STABLE = 'public, max-age=300, s-maxage=60';
/** Errors are answers to this moment's request, never cached (a missing image may be ingested a second later). */
const CACHE_ERROR = 'no-store';

export async function answerImageRequest(request: ImageApiRequest, deps: ImageApiDeps): Promise<HttpAnswer> {
  if (request.method === 'OPTIONS') return { status: 204, headers: { ...CORS_HEADERS, 'access-control-max-age': '86400' } };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return plain(405, `method ${request.method} is not allowed: the Image API is read-only (GET, HEAD, OPTIONS)`, { allow: 'GET, HEAD, OPTIONS' });
  }
  try {
    const result = await answerRequest(request, deps);
    return request.method === 'HEAD' ? { ...result, body: undefined } : result;
  } catch (error) {
    if (error instanceof ImageRequestError) return plain(error.status, error.message);
    throw error;
  }
}

async function answerRequest(request: ImageApiRequest, baseDeps: ImageApiDeps): Promise<HttpAnswer> {
  const deps = { ...baseDeps, settings: { ...baseDeps.settings, publicUrl: publicBaseUrl(request, baseDeps.settings.publicUrl) } };
  const parsed = parseImagePath(request.path);
  const version = parsed.kind === 'image' ? parsed.request.version : parsed.version;
  const requested = parsed.kind === 'image' ? parsed.request.identifier : parsed.identifier;
  const { identifier, revision, substitute } = splitRevisionIdentifier(requested);
  // Only what the ingest can have named is looked up: a 3 kB identifier would be a fault of the table, not a 404.
  const item = isIdentifier(identifier) ? await deps.items.get(identifier, { consistent: false }) : undefined;
  const current = item?.status !== 'deleted' ? item?.published : undefined;
  if (!item || !current) throw new ImageRequestError(404, `no image with identifier "${identifier}"`);
  // The revision just replaced is still stored (see ImageItem.superseded): clients holding its info.json go on.
  const revisionPublished = revision !== undefined && revision === item.superseded?.revision ? item.superseded : current;
  if (revision !== undefined && revision !== revisionPublished.revision) {
    throw new ImageRequestError(
      404,
      `revision "${revision}" of "${identifier}" is no longer published: the master was replaced or its access changed; read ${serviceUrl(deps, version, identifier)}/info.json`,
    );
  }
  // A substitute (`{identifier}~{revision}~{L}`) is a public image service of its own, the size-limited version.
  const served = substitute === undefined ? servedImage(revisionPublished, identifier) : servedSubstitute(revisionPublished, requested, identifier, version, deps);
  const { published, revisionId } = served;
  const policy = policyOf(published.access);
  // Asked only when the answer depends on it (private, or beyond the public limit): the public's requests for a
  // restricted image never wait for the signing key.
  let authorisation: Promise<boolean> | undefined;
  const authorised = (): Promise<boolean> => (authorisation ??= policy !== 'open' && deps.authorised ? deps.authorised(request) : Promise.resolve(false));
  const read = async (key: string): Promise<Uint8Array | undefined> =>
    (await deps.derivatives.getBytes(key)) ?? (policy !== 'open' && deps.protectedDerivatives ? await deps.protectedDerivatives.getBytes(key) : undefined);
  // A pyramid file's store follows from its own path (core/access-layout.ts): one read per tile, never two.
  const readPyramidFile = (path: string): Promise<Uint8Array | undefined> => {
    const placement = pyramidFilePlacement(path, published, published.maxSize, published.access);
    const store = placement === 'public' ? deps.derivatives : deps.protectedDerivatives;
    return store ? store.getBytes(pyramidFileKey(revisionId, path)) : Promise.resolve(undefined);
  };

  if (parsed.kind === 'base') {
    return { status: 303, headers: { ...CORS_HEADERS, location: `${serviceUrl(deps, version, requested)}/info.json`, 'cache-control': CACHE_STABLE } };
  }
  if (parsed.kind === 'info') {
    if (policy === 'private' && !(await authorised())) return unauthorisedInfo(deps, version, requested, identifier, published.access?.reason);
    const body = await read(infoJsonKey(version, requested));
    if (!body) throw new ImageRequestError(404, `no info.json for "${requested}"`);
    return {
      status: 200,
      headers: {
        ...CORS_HEADERS,
        'content-type': version === 3 ? INFO3_MEDIA_TYPE : INFO2_MEDIA_TYPE,
        'cache-control': policy === 'private' ? CACHE_AUTHORISED : revision === undefined ? CACHE_STABLE : CACHE_IMMUTABLE,
        link: `<${PROFILE[version]}>;rel="profile"`,
      },
      body,
    };
  }

  // Before anything is resolved against the image: an error about a region or size would tell its dimensions.
  if (policy === 'private' && !(await authorised())) throw refusal(deps, published, undefined, identifier);

  const resolved = resolveImageRequest(parsed.request, {
    width: published.width,
    height: published.height,
    ...published.limits,
    allowUpscaling: deps.settings.upscaling,
  });
  assertEncodable(resolved, published.limits.maxArea);
  // Enforced on the resolved request, so `max`, `pct:`, `^`, `!w,h` and crafted regions all meet the same rule.
  const public_ = policy === 'open' || (policy === 'restricted-size' && withinSizeLimit(resolved.region, resolved.size, published, published.access?.maxLongSide ?? 0));
  if (!public_ && !(await authorised())) throw refusal(deps, published, resolved, identifier);
  const canonicalUrl = `${serviceUrl(deps, version, requested)}/${resolved.canonical}`;
  // The bytes depend on the revision, the canonical request and which source answers (a lossless crop from the
  // master, or the pyramid when the master cannot give it): a client never revalidates one against the other.
  const fromMaster = served.fromMaster && published === current && masterEligible(item, current, resolved, deps);
  const etagFor = (source: 'm' | 'p') =>
    `"${published.revision}-${createHash('sha256').update(`${version}/${resolved.canonical}`).digest('hex').slice(0, 16)}${source}"`;
  const etag = etagFor(fromMaster ? 'm' : 'p');
  const headers: Record<string, string> = {
    ...CORS_HEADERS,
    'content-type': mediaTypeFor(resolved.format),
    // Pixels beyond the public limit are never stored by a shared cache, whatever URL they answer.
    'cache-control': !public_ ? CACHE_AUTHORISED : revision === undefined ? CACHE_STABLE : CACHE_IMMUTABLE,
    link: `<${canonicalUrl}>;rel="canonical", <${PROFILE[version]}>;rel="profile"`,
    etag,
    ...(item.publishedAt ? { 'last-modified': new Date(item.publishedAt).toUTCString() } : {}),
  };
  // The response's bytes depend only on the revision and the canonical request: a matching ETag needs no render.
  if (ifNoneMatch(request.headers['if-none-match'], etag)) return { status: 304, headers };

  // A request that means exactly a stored file (a tile or a size asked for in another form) is that file.
  for (const key of storedKeysFor(version, revisionId, resolved, published)) {
    const stored = await read(key);
    if (stored) return { status: 200, headers, body: stored };
  }

  const finish: FinishOptions = {
    rotation: resolved.rotation,
    quality: resolved.quality,
    format: resolved.format,
    jpegQuality: deps.settings.jpegQuality,
    ...(item.embedded ? { embedded: item.embedded } : {}),
  };
  // A lossless crop at full resolution of the current revision may come from a TIFF master's own bytes (see
  // renderFromMaster); everything else, and whatever the master cannot give, comes from the pyramid.
  let body = fromMaster ? await renderFromMaster(item, current, resolved, finish, deps) : undefined;
  if (!body) {
    body = await renderFromTiles(published, resolved, finish, readPyramidFile);
    headers.etag = etagFor('p');
  }

  if (body.length > deps.settings.maxInlineBytes) {
    if (!public_) {
      // The CDN copy below would be public: too large an answer for an authorised request is refused instead.
      throw new ImageRequestError(400, `this answer is ${body.length} bytes, more than a response can carry (${deps.settings.maxInlineBytes}); ask for a smaller size or region`);
    }
    // Too large for a Lambda response: store it where the CDN serves stored files, under the revision's canonical
    // URL, and send the client there. The copy is immutable and goes with the revision when it is pruned.
    const key = `iiif/${version}/${revisionId}/${resolved.canonical}`;
    await deps.derivatives.putBody(key, body, { contentType: headers['content-type']!, cacheControl: CACHE_IMMUTABLE });
    return {
      status: 303,
      headers: { ...CORS_HEADERS, location: `${serviceUrl(deps, version, revisionId)}/${resolved.canonical}`, 'cache-control': CACHE_ERROR },
    };
  }
  return { status: 200, headers, body };
}

async function renderFromTiles(
  published: PublishedPyramid,
  resolved: ResolvedImageRequest,
  finish: FinishOptions,
  readPyramidFile: (path: string) => Promise<Uint8Array | undefined>,
): Promise<Buffer> {
  let plan;
  try {
    plan = planRender(resolved.region, resolved.size, {
      width: published.width,
      height: published.height,
      tileSize: published.tileSize,
      scaleFactors: published.scaleFactors,
      sizes: published.sizes,
    });
  } catch (error) {
    if (error instanceof RangeError) {
      throw new ImageRequestError(400, `this region and size would need more than ${MAX_TILES_PER_REQUEST} tiles; ask for a smaller region or size`);
    }
    throw error;
  }
  return renderFromPyramid({
    ...finish,
    plan,
    fetchTile: async (path) => {
      const tile = await readPyramidFile(path);
      if (!tile) throw new Error(`stored pyramid of revision ${published.revision} lacks ${path}`); // the store is damaged: a fault
      return tile;
    },
  });
}

/** Authorised answers: the viewer's browser may keep them; no shared cache (the CDN) ever does. */
const CACHE_AUTHORISED = 'private, max-age=3600';

interface ServedImage {
  /** The pyramid this request is answered from, its access decision included. */
  published: PublishedPyramid;
  /** The identifier its stored files are under. */
  revisionId: string;
  /** Whether a lossless crop from the master may answer (never for a substitute: its pixels are scaled). */
  fromMaster: boolean;
}

function servedImage(published: PublishedPyramid, identifier: string): ServedImage {
  return { published, revisionId: revisionIdentifier(identifier, published.revision), fromMaster: true };
}

/** The size-limited version as a pyramid of its own: public, its limits its own size. */
function servedSubstitute(published: PublishedPyramid, requested: string, identifier: string, version: ApiVersion, deps: ImageApiDeps): ServedImage {
  const sub = published.substitute;
  if (!sub || sub.identifier !== requested) {
    throw new ImageRequestError(404, `"${requested}" is not a published version of "${identifier}"; read ${serviceUrl(deps, version, identifier)}/info.json`);
  }
  const size = { width: sub.width, height: sub.height };
  const { access: _access, substitute: _substitute, ...rest } = published;
  return {
    published: { ...rest, width: sub.width, height: sub.height, tileSize: sub.tileSize, scaleFactors: sub.scaleFactors, sizes: sub.sizes, maxSize: size, limits: { maxWidth: sub.width, maxHeight: sub.height } },
    revisionId: sub.identifier,
    fromMaster: false,
  };
}

/**
 * A private image's info.json to someone not authorised: 401, no dimensions, no metadata; only the probe service,
 * so an Auth 2.0 client can offer the login.
 */
function unauthorisedInfo(deps: ImageApiDeps, version: ApiVersion, requested: string, identifier: string, reason: string | undefined): HttpAnswer {
  const probe = probeServiceFor(deps.settings.publicUrl, identifier);
  const body =
    version === 3
      ? { '@context': [AUTH2_CONTEXT, IMAGE3_CONTEXT], id: serviceUrl(deps, 3, requested), type: 'ImageService3', service: [probe] }
      : { '@context': 'http://iiif.io/api/image/2/context.json', '@id': serviceUrl(deps, 2, requested), service: [{ '@context': AUTH2_CONTEXT, ...probe }] };
  return {
    status: 401,
    headers: { ...CORS_HEADERS, 'content-type': version === 3 ? INFO3_MEDIA_TYPE : INFO2_MEDIA_TYPE, 'cache-control': CACHE_ERROR },
    body: JSON.stringify({ ...body, error: `${reason ?? 'This image is not public.'} Log in through the probe service's access service to see it.` }),
  };
}

/** Why a request is refused, with what the caller may ask instead. */
function refusal(deps: ImageApiDeps, published: PublishedPyramid, r: ResolvedImageRequest | undefined, identifier: string): ImageRequestError {
  const access = published.access;
  const why = access?.reason ?? 'This image is not public.';
  if (access?.policy !== 'restricted-size' || !r) return new ImageRequestError(401, `${why} Log in (IIIF Auth 2.0: ${probeServiceFor(deps.settings.publicUrl, identifier).id}) to see it.`);
  const limit = access.maxLongSide ?? 0;
  const long = Math.max(published.width, published.height);
  const asked = Math.round(Math.max((r.size.width / r.region.w) * published.width, (r.size.height / r.region.h) * published.height));
  return new ImageRequestError(
    401,
    `${why} Without a login this image is served up to ${limit} pixels on its long side (of ${long}); this request asks for it at ${asked}. ` +
      `Ask for less (e.g. full/!${limit},${limit}/0/default.jpg) or log in (IIIF Auth 2.0: ${probeServiceFor(deps.settings.publicUrl, identifier).id}).`,
  );
}

/** Lossless formats that promise the master's pixels, which the JPEG tiles (q85) only approximate. */
const LOSSLESS: ReadonlySet<ImageFormat> = new Set(['png', 'tif']);

/**
 * A PNG or TIFF of a region at full resolution (no scaling), from a TIFF master: read from the master by byte
 * ranges, never whole (imaging/master-region.ts), then the tiles' colour recipe and the usual finishing, so it
 * differs from the pyramid's answer only by the JPEG loss the tiles carry. Used only when the master certainly is
 * the one the revision was made from and maps one to one onto the published image:
 * - the current revision: ingest writes `published` and `source` together in one conditional update, so they
 *   describe the same master; a superseded revision's master is not recorded, so it answers from its tiles;
 * - every range is read with If-Match on the master's recorded ETag: a master replaced under the same key (a newer
 *   upload still processing, or one that failed) is never read, and the pyramid answers until the new revision
 *   is published;
 * - EXIF orientation 1 or none: otherwise region coordinates name the turned image and the master's bytes do not
 *   (turning the region read is possible, but rarely worth it for TIFF masters, which are seldom turned);
 * - the published dimensions are the master's, the region is within maxArea, and the blocks under it are within
 *   the reader's budgets (64 MiB read, 128 MiB decoded).
 * Anything else, and any failure to read, answers from the pyramid; failures are logged.
 */
async function renderFromMaster(
  item: ImageItem,
  published: PublishedPyramid,
  resolved: ResolvedImageRequest,
  finish: FinishOptions,
  deps: ImageApiDeps,
): Promise<Buffer | undefined> {
  if (!masterEligible(item, published, resolved, deps)) return undefined;
  const source = item.source!;
  const { region } = resolved;
  const store = deps.masters!(source.bucket);
  const master: RangeSource = {
    size: source.size,
    read: async (offset, length) => {
      const bytes = await store.readRange(source.key, offset, length, { ifMatch: source.etag! });
      if (!bytes) throw new MasterRegionUnavailable('the master was replaced or removed since this revision was published');
      return bytes;
    },
  };
  try {
    const read = await readMasterRegion(master, { page: source.page, region });
    return await renderMasterRegion(read, source, finish);
  } catch (error) {
    const expected = error instanceof MasterRegionUnavailable;
    deps.log?.(expected ? 'info' : 'warn', 'answered from the pyramid: the master did not give this region', {
      identifier: item.identifier,
      key: source.key,
      region: `${region.x},${region.y},${region.w},${region.h}`,
      reason: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
}

/** Whether {@link renderFromMaster} may answer: decided before any I/O, so the ETag can say which source answers. */
function masterEligible(item: ImageItem, published: PublishedPyramid, resolved: ResolvedImageRequest, deps: ImageApiDeps): boolean {
  const source = item.source;
  const { region, size } = resolved;
  return (
    deps.masters !== undefined &&
    source !== undefined &&
    LOSSLESS.has(resolved.format) &&
    size.width === region.w &&
    size.height === region.h &&
    source.format === 'tiff' &&
    (source.orientation ?? 1) === 1 &&
    source.etag !== undefined &&
    source.width === published.width &&
    source.height === published.height &&
    region.w * region.h <= (published.limits.maxArea ?? MASTER_CROP_MAX_AREA)
  );
}

/** Without a maxArea, the largest master crop rendered in memory (4096², as the default maxArea). */
const MASTER_CROP_MAX_AREA = 16_777_216;

/**
 * The largest width or height each encoder writes (libvips: WebP 16383, JPEG and GIF 65535); PNG and TIFF are held
 * to 65535 as well. Within maxArea a `^` size can still be 16 million pixels wide and 1 high.
 */
const MAX_DIMENSION: Record<ImageFormat, number> = { jpg: 65_535, png: 65_535, webp: 16_383, tif: 65_535, gif: 65_535 };

/**
 * A size the encoder cannot write is the client's request, not a fault: 400 before any rendering. So is a
 * rotation whose bounding box would be far larger than maxArea allows (`^65535,256` turned 45° is 2 gigapixels):
 * rotating may add corners, at most doubling the area of a square, never more.
 */
function assertEncodable(r: ResolvedImageRequest, maxArea: number | undefined): void {
  const { width, height } = r.size;
  const degrees = r.rotation.degrees % 360;
  let box = { width, height };
  if (degrees % 180 === 90) box = { width: height, height: width };
  else if (degrees % 90 !== 0) {
    // The rotated image's bounding box, with a pixel to spare for libvips' rounding.
    const cos = Math.abs(Math.cos((degrees * Math.PI) / 180));
    const sin = Math.abs(Math.sin((degrees * Math.PI) / 180));
    box = { width: Math.ceil(width * cos + height * sin) + 1, height: Math.ceil(width * sin + height * cos) + 1 };
  }
  if (maxArea !== undefined && box.width * box.height > 2 * maxArea) {
    throw new ImageRequestError(400, `size ${width}×${height} rotated by ${degrees}° would be ${box.width}×${box.height}, more than twice maxArea (${maxArea})`);
  }
  const max = MAX_DIMENSION[r.format];
  if (box.width > max || box.height > max) {
    const rotated = degrees % 180 === 0 ? '' : ` (${box.width}×${box.height} once rotated)`;
    throw new ImageRequestError(400, `size ${width}×${height}${rotated} is too large for ${r.format}, which holds at most ${max} pixels a side`);
  }
}

/** Stored files that are exactly this answer: by the request's own canonical path, then by its 3.0 equivalent. */
function storedKeysFor(version: ApiVersion, revisionId: string, r: ResolvedImageRequest, published: PublishedPyramid): string[] {
  const keys = [storedKeyForPath(`/iiif/${version}/${revisionId}/${r.canonical}`)];
  const plain = r.rotation.degrees % 360 === 0 && !r.rotation.mirror && (r.quality === 'default' || r.quality === 'color') && r.format === 'jpg';
  if (plain) {
    const whole = r.region.x === 0 && r.region.y === 0 && r.region.w === published.width && r.region.h === published.height;
    const isMax = whole && r.size.width === published.maxSize.width && r.size.height === published.maxSize.height;
    const region = whole ? 'full' : `${r.region.x},${r.region.y},${r.region.w},${r.region.h}`;
    keys.push(storedKeyForPath(`/iiif/3/${revisionId}/${region}/${isMax ? 'max' : `${r.size.width},${r.size.height}`}/0/default.jpg`));
  }
  return [...new Set(keys.filter((k): k is string => k !== undefined))];
}

/** The configured public URL, else the host the viewer asked (forwarded by the CDN), never this origin's own. */
function publicBaseUrl(request: ImageApiRequest, configured: string): string {
  if (configured) return configured;
  const host = request.headers[FORWARDED_HOST];
  if (host && /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) return `https://${host}`;
  throw new ImageRequestError(400, 'this endpoint serves requests through the CDN only: use the public IIIF URL');
}

function serviceUrl(deps: ImageApiDeps, version: ApiVersion, identifier: string): string {
  return `${deps.settings.publicUrl}/iiif/${version}/${encodeIdentifier(identifier)}`;
}

/** Identifiers are URL-safe by construction; `:` stays readable as in every stored URL. */
function encodeIdentifier(identifier: string): string {
  return encodeURIComponent(identifier).replace(/%3A/gi, ':');
}

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

function plain(status: number, message: string, extra: Record<string, string> = {}): HttpAnswer {
  return { status, headers: { ...CORS_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': CACHE_ERROR, ...extra }, body: `${message}\n` };
}
