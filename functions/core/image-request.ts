/**
 * IIIF Image API request logic for the dynamic image service, Image API 3.0 (`/iiif/3/`) and 2.1 (`/iiif/2/`):
 * parse a request path, validate it against one image and work out the region, output size and canonical form.
 *
 * Section numbers below refer to the Image API 3.0 specification (https://iiif.io/api/image/3.0/) unless they
 * say "2.1" (https://iiif.io/api/image/2.1/). Where the specification says SHOULD, this module does it. Decisions
 * where the specification leaves room:
 *   - Rounding is "implementation specific" (§4.7). A dimension derived from another (`w,` → height, `!w,h`, pct
 *     sizes) is rounded to the nearest pixel; pct region edges are rounded to the nearest pixel, which reproduces
 *     the specification's own examples (pct:41.6,7.5,40,70 of 300×200 is 125,15,120,140). `max` uses
 *     `maxSizeFor` from pyramid.ts, so it is the size the ingest stores and info.json advertises.
 *   - Sizes over `maxWidth`/`maxHeight`/`maxArea` are 400 in 3.0 (§4.2) but 404 in 2.1, whose only rule on
 *     them is the error table (2.1 §7.2: "the requested size is greater than the limits specified").
 *   - 2.1 has no `^`: scaling above the region is implicitly allowed when the service upscales (2.1 §4.2 "MAY
 *     support scaling above the full size"), and 501 when it does not (2.1 §7.2, a valid request not implemented).
 *   - A service only upscales when it declares `maxWidth` or `maxArea` (§5.7: a server supporting
 *     `sizeUpscaling` MUST specify one of them); without them upscaling would be unbounded.
 *
 * Pure and dependency-free apart from the pyramid maths: no I/O, so every rule is unit-testable.
 */
import { maxSizeFor, regionParam, withinLimits } from './pyramid.ts';
import type { Size, SizeLimits } from './pyramid.ts';

export type ApiVersion = 2 | 3;
export type ImageRequestStatus = 400 | 401 | 403 | 404 | 415 | 501;

export class ImageRequestError extends Error {
  constructor(
    readonly status: ImageRequestStatus,
    message: string,
  ) {
    super(message);
    this.name = 'ImageRequestError';
  }
}

export type RegionRequest =
  | { kind: 'full' }
  | { kind: 'square' }
  | { kind: 'pixels'; x: number; y: number; w: number; h: number }
  | { kind: 'percent'; x: number; y: number; w: number; h: number };

export type SizeRequest =
  | { kind: 'max'; upscale: boolean }
  | { kind: 'full' } // 2.1 only
  | { kind: 'width'; w: number; upscale: boolean }
  | { kind: 'height'; h: number; upscale: boolean }
  | { kind: 'percent'; n: number; upscale: boolean }
  | { kind: 'exact'; w: number; h: number; upscale: boolean }
  | { kind: 'fit'; w: number; h: number; upscale: boolean }; // !w,h

export type Quality = 'default' | 'color' | 'gray' | 'bitonal';
export type ImageFormat = 'jpg' | 'png' | 'webp' | 'tif' | 'gif';

export interface ImageRequest {
  version: ApiVersion;
  identifier: string;
  region: RegionRequest;
  size: SizeRequest;
  rotation: { degrees: number; mirror: boolean };
  quality: Quality;
  format: ImageFormat;
}

/** What the path after `/iiif/{2|3}/` asks for. `identifier` is percent-decoded. */
export type ParsedImagePath =
  | { kind: 'base'; version: ApiVersion; identifier: string } // `/iiif/3/{id}` or `/iiif/3/{id}/` → 303 to info.json
  | { kind: 'info'; version: ApiVersion; identifier: string } // `/iiif/3/{id}/info.json`
  | { kind: 'image'; request: ImageRequest };

export interface ImageFacts {
  width: number;
  height: number;
  maxWidth?: number;
  maxHeight?: number;
  maxArea?: number;
  allowUpscaling: boolean;
}

export interface ResolvedImageRequest {
  /** Region in full-resolution pixels, already cropped to the image. */
  region: { x: number; y: number; w: number; h: number };
  /** Output size before rotation. */
  size: Size;
  rotation: { degrees: number; mirror: boolean };
  quality: Quality;
  format: ImageFormat;
  /** Canonical path relative to the service: `{region}/{size}/{rotation}/{quality}.{format}` in the request's API version. */
  canonical: string;
}

export const QUALITIES: readonly Quality[] = ['default', 'color', 'gray', 'bitonal'];
export const IMAGE_FORMATS: readonly ImageFormat[] = ['jpg', 'png', 'webp', 'tif', 'gif'];
/** Formats the specification defines (§4.5) that this service does not produce. */
const UNSUPPORTED_SPEC_FORMATS = ['jp2', 'pdf'];

const MEDIA_TYPES: Record<ImageFormat, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  tif: 'image/tiff',
  gif: 'image/gif',
};

/** Media type for a format (image/jpeg, image/png, image/webp, image/tiff, image/gif). */
export function mediaTypeFor(format: ImageFormat): string {
  return MEDIA_TYPES[format];
}

const PREFIX = '/iiif/';
const IMAGE_TEMPLATE = '{region}/{size}/{rotation}/{quality}.{format}';

/**
 * Parse a full URL path like `/iiif/3/abc:1/full/max/0/default.jpg` (raw, still percent-encoded). Throws
 * ImageRequestError(400) for syntax errors, (404) for paths that are not under /iiif/2|3/.
 */
export function parseImagePath(path: string): ParsedImagePath {
  if (!path.startsWith(PREFIX)) throw new ImageRequestError(404, `not an image service path: ${quote(path)}`);
  const rest = path.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  const versionSegment = slash < 0 ? rest : rest.slice(0, slash);
  if (slash < 0 || (versionSegment !== '2' && versionSegment !== '3')) {
    throw new ImageRequestError(404, `no image service at ${quote(path)}: expected /iiif/2/ or /iiif/3/`);
  }
  const version: ApiVersion = versionSegment === '2' ? 2 : 3;
  // Slashes separate the parameters and MUST NOT be encoded (§9), so splitting the raw path is unambiguous; a
  // slash inside an identifier arrives as %2F and is decoded afterwards.
  const [rawIdentifier = '', ...params] = rest.slice(slash + 1).split('/');
  if (rawIdentifier === '') throw new ImageRequestError(400, `missing identifier after /iiif/${version}/`);
  const identifier = decodeSegment(rawIdentifier, 'identifier');

  if (params.length === 0 || (params.length === 1 && params[0] === '')) return { kind: 'base', version, identifier };
  if (params.length === 1) {
    const only = decodeSegment(params[0]!, 'request');
    if (only === 'info.json') return { kind: 'info', version, identifier };
    throw new ImageRequestError(400, `unknown request ${quote(only)} after the identifier: expected info.json or ${IMAGE_TEMPLATE}`);
  }
  if (params.length !== 4) {
    throw new ImageRequestError(
      400,
      `expected ${IMAGE_TEMPLATE} after the identifier, got ${params.length} path segments` +
        ' (a slash inside an identifier must be encoded as %2F)',
    );
  }
  const [rawRegion, rawSize, rawRotation, rawQualityFormat] = params as [string, string, string, string];
  // Percent-encoding parameters "introduces no ambiguity but is unnecessary" (§9): accept it (`%5Emax` is `^max`).
  const region = parseRegion(decodeSegment(rawRegion, 'region'));
  const size = parseSize(decodeSegment(rawSize, 'size'), version);
  const rotation = parseRotation(decodeSegment(rawRotation, 'rotation'));
  const { quality, format } = parseQualityFormat(decodeSegment(rawQualityFormat, 'quality and format'));
  return { kind: 'image', request: { version, identifier, region, size, rotation, quality, format } };
}

function decodeSegment(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ImageRequestError(400, `invalid percent-encoding in ${what} ${quote(raw)}`);
  }
}

// §4: pixel values MUST be non-negative integers. §4.7: floating point values MUST consist only of decimal digits
// and "." (so no sign, exponent, `NaN` or `Infinity`); a missing leading 0 (`.5`) is only a SHOULD for clients and
// is accepted.
// Written so that matching is linear in the input: `\d+\.?\d*` backtracks quadratically on a long run of digits.
const INTEGER = /^\d+$/;
const DECIMAL = /^(?=\.?\d)\d*(?:\.\d*)?$/;

/** A parsed number, or why the text is not one. */
type Parsed = { value: number } | { problem: string };

function readInteger(text: string): Parsed {
  if (!INTEGER.test(text)) return { problem: `${quote(text)} is not a whole number of pixels` };
  const value = Number(text);
  if (!Number.isSafeInteger(value)) return { problem: `${quote(text)} is too large` };
  return { value };
}

function readDecimal(text: string): Parsed {
  if (!DECIMAL.test(text)) return { problem: `${quote(text)} is not a plain decimal number` };
  const value = Number(text);
  if (!Number.isFinite(value)) return { problem: `${quote(text)} is too large` };
  return { value };
}

function readList(text: string, count: number, read: (part: string) => Parsed): number[] | string {
  const parts = text.split(',');
  if (parts.length !== count) return `expected ${count} comma-separated numbers, got ${parts.length}`;
  const values: number[] = [];
  for (const part of parts) {
    const parsed = read(part);
    if ('problem' in parsed) return parsed.problem;
    values.push(parsed.value);
  }
  return values;
}

const REGION_FORMS = 'full, square, x,y,w,h (whole pixels) or pct:x,y,w,h (percentages)';

function parseRegion(text: string): RegionRequest {
  if (text === 'full') return { kind: 'full' };
  // `square` exists in both versions (3.0 §4.1, 2.1 §4.1).
  if (text === 'square') return { kind: 'square' };
  const percent = text.startsWith('pct:');
  const values = percent ? readList(text.slice(4), 4, readDecimal) : readList(text, 4, readInteger);
  if (typeof values === 'string') throw invalid('region', text, REGION_FORMS, values);
  const [x, y, w, h] = values as [number, number, number, number];
  return { kind: percent ? 'percent' : 'pixels', x, y, w, h };
}

function sizeForms(version: ApiVersion): string {
  return version === 3 ? 'one of max, w,, ,h, pct:n, w,h, !w,h with optional ^' : 'one of full, max, w,, ,h, pct:n, w,h, !w,h';
}

function parseSize(text: string, version: ApiVersion): SizeRequest {
  const forms = sizeForms(version);
  let body = text;
  const upscale = body.startsWith('^');
  if (upscale) {
    // `^` was introduced in 3.0 (§4.2); in 2.1 upscaling is implicit.
    if (version === 2) throw invalid('size', text, forms, '^ is Image API 3.0 syntax');
    body = body.slice(1);
  }
  if (body === 'max') return { kind: 'max', upscale };
  if (body === 'full') {
    // 2.1 deprecated `full` in favour of `max`, and 3.0 removed it (3.0 change log).
    if (version === 2) return { kind: 'full' };
    throw invalid('size', text, forms, 'full was replaced by max in Image API 3.0');
  }
  if (body.startsWith('pct:')) {
    const n = readDecimal(body.slice(4));
    if ('problem' in n) throw invalid('size', text, forms, n.problem);
    return { kind: 'percent', n: n.value, upscale };
  }
  const confined = body.startsWith('!');
  if (confined) body = body.slice(1);
  const parts = body.split(',');
  if (parts.length !== 2) throw invalid('size', text, forms);
  const [wText, hText] = parts as [string, string];
  const w = wText === '' ? undefined : readInteger(wText);
  const h = hText === '' ? undefined : readInteger(hText);
  if (w && 'problem' in w) throw invalid('size', text, forms, w.problem);
  if (h && 'problem' in h) throw invalid('size', text, forms, h.problem);
  if (w && h) return { kind: confined ? 'fit' : 'exact', w: w.value, h: h.value, upscale };
  if (!confined && w) return { kind: 'width', w: w.value, upscale };
  if (!confined && h) return { kind: 'height', h: h.value, upscale };
  throw invalid('size', text, forms);
}

const ROTATION_FORMS = 'degrees from 0 to 360, optionally prefixed by ! to mirror';

function parseRotation(text: string): { degrees: number; mirror: boolean } {
  const mirror = text.startsWith('!');
  const degrees = readDecimal(mirror ? text.slice(1) : text);
  if ('problem' in degrees) throw invalid('rotation', text, ROTATION_FORMS, degrees.problem);
  // "any floating point number from 0 to 360" (§4.3), so 360 itself is in range; out of range is 400.
  if (degrees.value > 360) throw invalid('rotation', text, ROTATION_FORMS, 'more than 360 degrees');
  return { degrees: degrees.value, mirror };
}

function parseQualityFormat(text: string): { quality: Quality; format: ImageFormat } {
  const dot = text.indexOf('.');
  if (dot < 0) throw invalid('quality and format', text, '{quality}.{format}, e.g. default.jpg');
  const quality = text.slice(0, dot);
  const format = text.slice(dot + 1);
  // Unsupported quality or format SHOULD be 400 (§4.4, §4.5; 2.1 §4.4, §4.5); 415 is not an Image API code.
  if (!isQuality(quality)) throw invalid('quality', quality, 'default, color, gray or bitonal');
  if (!isFormat(format)) {
    const known = UNSUPPORTED_SPEC_FORMATS.includes(format);
    throw new ImageRequestError(
      400,
      `${known ? 'unsupported' : 'invalid'} format ${quote(format)}: this service returns ${IMAGE_FORMATS.join(', ')}`,
    );
  }
  return { quality, format };
}

function isQuality(value: string): value is Quality {
  return (QUALITIES as readonly string[]).includes(value);
}

function isFormat(value: string): value is ImageFormat {
  return (IMAGE_FORMATS as readonly string[]).includes(value);
}

/** Validate a parsed request against the image; throws ImageRequestError (400, 404, 501) per the spec. */
export function resolveImageRequest(request: ImageRequest, facts: ImageFacts): ResolvedImageRequest {
  assertFacts(facts);
  assertRequestNumbers(request);
  const region = resolveRegion(request.region, facts);
  const limits = effectiveLimits(facts);
  // §5.7: a server that supports sizeUpscaling MUST specify maxWidth or maxArea.
  const upscalingSupported = facts.allowUpscaling && (facts.maxWidth !== undefined || facts.maxArea !== undefined);
  const size = resolveSize(request.version, request.size, region, limits, upscalingSupported);
  const canonicalSize =
    request.version === 3 ? canonicalSize3(size, region, limits, upscalingSupported) : canonicalSize2(size, region);
  const canonicalRegion = regionParam(region, facts.width, facts.height);
  const canonical = [
    canonicalRegion,
    canonicalSize,
    `${request.rotation.mirror ? '!' : ''}${decimalString(request.rotation.degrees)}`,
    `${canonicalQuality(request.quality)}.${request.format}`,
  ].join('/');
  return { region, size, rotation: { ...request.rotation }, quality: request.quality, format: request.format, canonical };
}

function assertFacts(facts: ImageFacts): void {
  // Facts come from our own records, not from the client: a bad value is a programming error, not a 4xx.
  const positive = (n: number) => Number.isSafeInteger(n) && n >= 1;
  const limits = [facts.maxWidth, facts.maxHeight, facts.maxArea];
  if (!positive(facts.width) || !positive(facts.height) || !limits.every((n) => n === undefined || positive(n))) {
    throw new RangeError(`image facts must be positive integers: ${JSON.stringify(facts)}`);
  }
}

/** Requests built in code rather than by `parseImagePath` get the same number rules as parsed ones (§4, §4.7). */
function assertRequestNumbers(request: ImageRequest): void {
  const whole = (n: number) => Number.isSafeInteger(n) && n >= 0;
  const decimal = (n: number) => Number.isFinite(n) && n >= 0;
  const r = request.region;
  const regionOk =
    r.kind === 'pixels' ? [r.x, r.y, r.w, r.h].every(whole) : r.kind === 'percent' ? [r.x, r.y, r.w, r.h].every(decimal) : true;
  if (!regionOk) {
    throw new ImageRequestError(400, `invalid region: ${JSON.stringify(r)}`);
  }
  const s = request.size;
  const sizeOk = s.kind === 'percent' ? decimal(s.n) : ['w' in s ? s.w : 0, 'h' in s ? s.h : 0].every(whole);
  if (!sizeOk) throw new ImageRequestError(400, `invalid size: ${JSON.stringify(s)}`);
  const degrees = request.rotation.degrees;
  if (!decimal(degrees) || degrees > 360) throw new ImageRequestError(400, `invalid rotation: ${degrees} degrees`);
}

/** §5.2: "If maxWidth is specified and maxHeight is not, then clients should infer that maxHeight = maxWidth." */
function effectiveLimits(facts: ImageFacts): SizeLimits {
  const limits: SizeLimits = {};
  if (facts.maxWidth !== undefined) limits.maxWidth = facts.maxWidth;
  const maxHeight = facts.maxHeight ?? facts.maxWidth;
  if (maxHeight !== undefined) limits.maxHeight = maxHeight;
  if (facts.maxArea !== undefined) limits.maxArea = facts.maxArea;
  return limits;
}

function resolveRegion(r: RegionRequest, facts: ImageFacts): { x: number; y: number; w: number; h: number } {
  const { width, height } = facts;
  switch (r.kind) {
    case 'full':
      return { x: 0, y: 0, w: width, h: height };
    case 'square': {
      // §4.1: the shorter side; "centered is often a reasonable default" for its position.
      const side = Math.min(width, height);
      return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), w: side, h: side };
    }
    case 'pixels': {
      const text = `${r.x},${r.y},${r.w},${r.h}`;
      if (r.w === 0 || r.h === 0) throw regionError(text, 'zero width or height');
      if (r.x >= width || r.y >= height) throw regionError(text, `entirely outside the ${width}×${height} image`);
      // §4.1: a region extending beyond the image SHOULD be cropped at the image's edge.
      return { x: r.x, y: r.y, w: Math.min(r.w, width - r.x), h: Math.min(r.h, height - r.y) };
    }
    case 'percent': {
      const text = `pct:${decimalString(r.x)},${decimalString(r.y)},${decimalString(r.w)},${decimalString(r.h)}`;
      if (r.w === 0 || r.h === 0) throw regionError(text, 'zero width or height');
      if (r.x >= 100 || r.y >= 100) throw regionError(text, 'entirely outside the image');
      // Each edge is rounded to the nearest pixel (so adjacent percentage regions neither overlap nor leave gaps),
      // then the region is cropped at the image's edge (§4.1).
      const x = Math.round((width * r.x) / 100);
      const y = Math.round((height * r.y) / 100);
      const right = Math.min(width, Math.round((width * (r.x + r.w)) / 100));
      const bottom = Math.min(height, Math.round((height * (r.y + r.h)) / 100));
      if (right - x < 1 || bottom - y < 1) {
        throw regionError(text, `less than one pixel wide or high in the ${width}×${height} image`);
      }
      return { x, y, w: right - x, h: bottom - y };
    }
  }
}

function regionError(text: string, why: string): ImageRequestError {
  // §4.1: zero width or height, or entirely outside the image, SHOULD be 400.
  return new ImageRequestError(400, `invalid region ${quote(text)}: ${why}`);
}

function resolveSize(
  version: ApiVersion,
  s: SizeRequest,
  region: { w: number; h: number },
  limits: SizeLimits,
  upscalingSupported: boolean,
): Size {
  const { w: rw, h: rh } = region;
  const text = sizeText(s);
  let size: Size;
  switch (s.kind) {
    case 'max':
      // §4.2 `max`: the region's size unless constrained by the limits; `^max` scales up to the limits.
      size = s.upscale && version === 3 ? upscaledMax(rw, rh, limits) : maxSizeFor(rw, rh, limits);
      break;
    case 'full':
      size = { width: rw, height: rh };
      break;
    case 'width':
      size = { width: s.w, height: Math.round((rh * s.w) / rw) };
      break;
    case 'height':
      size = { width: Math.round((rw * s.h) / rh), height: s.h };
      break;
    case 'percent':
      size = { width: Math.round((rw * s.n) / 100), height: Math.round((rh * s.n) / 100) };
      break;
    case 'exact':
      size = { width: s.w, height: s.h };
      break;
    case 'fit': {
      // §4.2 `!w,h`: as large as possible within w×h and the server's limits, never larger than the region unless
      // `^` is given. 2.1 §4.2 leaves the exact scaling to the service: it upscales only when the service does.
      const capToRegion = version === 3 ? !s.upscale : !upscalingSupported;
      let boxW = Math.min(s.w, limits.maxWidth ?? Infinity);
      let boxH = Math.min(s.h, limits.maxHeight ?? Infinity);
      if (capToRegion) {
        boxW = Math.min(boxW, rw);
        boxH = Math.min(boxH, rh);
      }
      size = fitInside(rw, rh, boxW, boxH, limits.maxArea);
      break;
    }
  }

  // §4.2: "the pixel dimensions of the scaled region MUST NOT be less than 1 pixel" (2.1 §4.2: zero → 400).
  if (size.width < 1 || size.height < 1) {
    throw new ImageRequestError(400, `invalid size ${quote(text)}: ${size.width}×${size.height} is less than one pixel`);
  }
  if (size.width > rw || size.height > rh) {
    const what = `${size.width}×${size.height} is larger than the ${rw}×${rh} region`;
    // §4.2: without `^`, a size larger than the region SHOULD be 400.
    if (version === 3 && !('upscale' in s && s.upscale)) {
      throw new ImageRequestError(400, `invalid size ${quote(text)}: ${what}; prefix it with ^ to ask for upscaling`);
    }
    // §4.2: `^` sizes that need upscaling SHOULD be 501 where the server does not upscale (e.g. `^pct:120`).
    if (!upscalingSupported) {
      throw new ImageRequestError(501, `size ${quote(text)} needs upscaling (${what}), which this service does not do`);
    }
  }
  if (!withinLimits(size, limits)) {
    // 3.0 §4.2: sizes over the server-imposed limits SHOULD be 400; 2.1 §7.2 lists 404 for them.
    throw new ImageRequestError(
      version === 3 ? 400 : 404,
      `size ${quote(text)}: ${size.width}×${size.height} exceeds this image's limits (${describeLimits(limits)}); use max`,
    );
  }
  return size;
}

/**
 * `^max` (§4.2): the largest size within the limits, upscaling the region if they allow it. When the limits are
 * already smaller than the region it is exactly `max`, so both name the same image. With no limits there is no
 * larger size to scale to, and it is the region's size.
 */
function upscaledMax(rw: number, rh: number, limits: SizeLimits): Size {
  const max = maxSizeFor(rw, rh, limits);
  if (max.width !== rw || max.height !== rh) return max;
  return fitInside(rw, rh, limits.maxWidth ?? Infinity, limits.maxHeight ?? Infinity, limits.maxArea);
}

/**
 * The largest size with the region's aspect ratio inside boxW×boxH (either may be Infinity) and maxArea. The side
 * that binds gets the box's value exactly and the other is rounded, as for `w,`/`,h`, so `!225,100` of 300×200 is
 * 150,100 as in §4.2's example. The area limit is applied like `maxSizeFor` (rounded down, then stepped down).
 */
function fitInside(rw: number, rh: number, boxW: number, boxH: number, maxArea: number | undefined): Size {
  let width = rw;
  let height = rh;
  if (boxW !== Infinity || boxH !== Infinity) {
    // Compare boxW/rw with boxH/rh without dividing, so equal ratios are recognised exactly.
    if (boxW * rh <= boxH * rw) {
      width = boxW;
      height = Math.round((rh * boxW) / rw);
    } else {
      width = Math.round((rw * boxH) / rh);
      height = boxH;
    }
  }
  if (maxArea !== undefined && width * height > maxArea) {
    const scale = Math.sqrt(maxArea / (rw * rh));
    width = Math.min(width, Math.floor(rw * scale));
    height = Math.min(height, Math.floor(rh * scale));
    while (width * height > maxArea) {
      if (width >= height) width -= 1;
      else height -= 1;
    }
  }
  return { width, height };
}

/**
 * 3.0 canonical size (§4.8): `max` for the maximum size without upscaling, `^max` for the maximum upscaled size,
 * otherwise `w,h`, or `^w,h` when the region is upscaled.
 */
function canonicalSize3(size: Size, region: { w: number; h: number }, limits: SizeLimits, upscalingSupported: boolean): string {
  const same = (other: Size) => other.width === size.width && other.height === size.height;
  if (same(maxSizeFor(region.w, region.h, limits))) return 'max';
  const upscaled = size.width > region.w || size.height > region.h;
  if (!upscaled) return `${size.width},${size.height}`;
  if (upscalingSupported && same(upscaledMax(region.w, region.h, limits))) return '^max';
  return `^${size.width},${size.height}`;
}

/**
 * 2.1 canonical size (2.1 §4.7): `full` for the region's own size, `w,` when the size keeps the region's aspect
 * ratio, `w,h` when it changes it. "Keeps the aspect ratio" is taken as "`w,` asks for exactly this size", so that
 * the canonical form always names the same image.
 */
function canonicalSize2(size: Size, region: { w: number; h: number }): string {
  if (size.width === region.w && size.height === region.h) return 'full';
  if (Math.round((region.h * size.width) / region.w) === size.height) return `${size.width},`;
  return `${size.width},${size.height}`;
}

/**
 * §4.8: `default` if the server's default quality is requested. This service's default is the master's full
 * colour information, which is exactly what `color` asks for (§4.4: `color` of a grey image returns grey pixels).
 */
function canonicalQuality(quality: Quality): Quality {
  return quality === 'color' ? 'default' : quality;
}

function sizeText(s: SizeRequest): string {
  const up = 'upscale' in s && s.upscale ? '^' : '';
  switch (s.kind) {
    case 'max':
      return `${up}max`;
    case 'full':
      return 'full';
    case 'width':
      return `${up}${s.w},`;
    case 'height':
      return `${up},${s.h}`;
    case 'percent':
      return `${up}pct:${decimalString(s.n)}`;
    case 'exact':
      return `${up}${s.w},${s.h}`;
    case 'fit':
      return `${up}!${s.w},${s.h}`;
  }
}

function describeLimits(limits: SizeLimits): string {
  const parts: string[] = [];
  if (limits.maxWidth !== undefined) parts.push(`maxWidth ${limits.maxWidth}`);
  if (limits.maxHeight !== undefined) parts.push(`maxHeight ${limits.maxHeight}`);
  if (limits.maxArea !== undefined) parts.push(`maxArea ${limits.maxArea}`);
  return parts.join(', ');
}

/**
 * A non-negative number as §4.7 wants it: an integer where possible, otherwise digits and "." with a leading 0 and
 * no trailing zeros, never exponent notation (`String(1e-7)` is "1e-7").
 */
export function decimalString(n: number): string {
  const text = String(n);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const mantissa = text.slice(0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

function invalid(parameter: string, value: string, expected: string, detail?: string): ImageRequestError {
  return new ImageRequestError(400, `invalid ${parameter} ${quote(value)}: ${detail ? `${detail}; ` : ''}expected ${expected}`);
}

/** Quote client input for a plain-text error body: bounded, escaped, and inert if shown as HTML. */
function quote(value: string): string {
  const short = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(short).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
