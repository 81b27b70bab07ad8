/**
 * info.json documents for a stored level-0 pyramid, Image API 3.0 and 2.1.
 *
 * The `id` is always built from the configured public base URL, never from the host a request arrived on, so no
 * internal host (Lambda, API Gateway, S3) can leak into what clients cache and embed in manifests.
 */
import { AUTH2_CONTEXT, type AuthProbeService2 } from './auth.ts';
import type { Size, SizeLimits } from './pyramid.ts';

export const IMAGE3_CONTEXT = 'http://iiif.io/api/image/3/context.json';
export const IMAGE2_CONTEXT = 'http://iiif.io/api/image/2/context.json';
export const IMAGE3_LEVEL0 = 'level0';
export const IMAGE3_LEVEL2 = 'level2';
export const IMAGE2_LEVEL0 = 'http://iiif.io/api/image/2/level0.json';
export const IMAGE2_LEVEL2 = 'http://iiif.io/api/image/2/level2.json';

/**
 * What the service answers beyond the stored files. `level: 2` when the dynamic Image API runs behind the same
 * URLs (the default: it does, on AWS and under `npm start`); `level: 0` describes the static files alone.
 */
export interface ServiceCapabilities {
  level: 0 | 2;
  /** `^` sizes (3.0) and sizes above the full image (2.1), within maxArea. */
  upscaling: boolean;
}

export const DYNAMIC_SERVICE: ServiceCapabilities = { level: 2, upscaling: true };

/** Beyond level 2's jpg and png: exactly what the renderer encodes. */
export const EXTRA_FORMATS = ['webp', 'tif', 'gif'] as const;
/** Beyond `default`: level 2 requires `color`; `gray` and `bitonal` are rendered too. */
export const EXTRA_QUALITIES = ['color', 'gray', 'bitonal'] as const;

/** 3.0 feature names the dynamic service supports beyond what level 2 requires (Image API 3.0 §5.3). */
export function extraFeatures3(c: ServiceCapabilities): string[] {
  const features = ['baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'mirroring', 'profileLinkHeader', 'regionSquare', 'rotationArbitrary'];
  if (c.upscaling) features.push('sizeUpscaling');
  return features.sort();
}

/** 2.1 `supports` names for the same service (Image API 2.1 §5.3). */
export function supports2(c: ServiceCapabilities): string[] {
  const features = ['baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'mirroring', 'profileLinkHeader', 'regionSquare', 'rotationArbitrary'];
  if (c.upscaling) features.push('sizeAboveFull');
  return features.sort();
}
export const IMAGE_PROTOCOL = 'http://iiif.io/api/image';
export const INFO3_MEDIA_TYPE = `application/ld+json;profile="${IMAGE3_CONTEXT}"`;
export const INFO2_MEDIA_TYPE = 'application/json';

/** What an info.json says about one published pyramid. */
export interface PyramidDescription {
  width: number;
  height: number;
  tileSize: number;
  scaleFactors: number[];
  sizes: Size[];
  limits: SizeLimits;
  /** A Creative Commons or RightsStatements.org URI, when the master declares one. */
  rights?: string;
}

export interface ImageInfo3 {
  /** With Auth 2.0 services, the auth context comes first (Auth 2.0 §2.1). */
  '@context': string | string[];
  id: string;
  type: 'ImageService3';
  protocol: string;
  profile: string;
  extraFormats?: string[];
  extraQualities?: string[];
  extraFeatures?: string[];
  width: number;
  height: number;
  maxWidth?: number;
  maxHeight?: number;
  maxArea?: number;
  sizes: Size[];
  tiles: { width: number; height: number; scaleFactors: number[] }[];
  rights?: string;
  service?: AuthProbeService2[];
}

export interface ImageInfo2 {
  '@context': string;
  '@id': string;
  protocol: string;
  width: number;
  height: number;
  sizes: Size[];
  tiles: { width: number; height: number; scaleFactors: number[] }[];
  profile: [string, { formats: string[]; qualities: string[]; supports?: string[]; maxWidth?: number; maxHeight?: number; maxArea?: number }];
  license?: string;
  /** 2.1 documents carry one context; embedded services name their own. */
  service?: (AuthProbeService2 & { '@context': string })[];
}

/** `{publicBaseUrl}/iiif/{version}/{identifier}` with exactly one slash between the parts. */
export function imageServiceId(publicBaseUrl: string, version: 2 | 3, identifier: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/iiif/${version}/${identifier}`;
}

/**
 * `auth`: the Auth 2.0 probe services of an image that is not open (its image responses are access-controlled,
 * so the probe MUST be declared here, Auth 2.0 §2.1).
 */
export function buildInfoJson3(serviceId: string, p: PyramidDescription, c: ServiceCapabilities = DYNAMIC_SERVICE, auth?: AuthProbeService2[]): ImageInfo3 {
  const info: ImageInfo3 = {
    '@context': auth?.length ? [AUTH2_CONTEXT, IMAGE3_CONTEXT] : IMAGE3_CONTEXT,
    id: serviceId,
    type: 'ImageService3',
    protocol: IMAGE_PROTOCOL,
    profile: c.level === 2 ? IMAGE3_LEVEL2 : IMAGE3_LEVEL0,
    ...(c.level === 2
      ? { extraFormats: [...EXTRA_FORMATS], extraQualities: [...EXTRA_QUALITIES], extraFeatures: extraFeatures3(c) }
      : {}),
    width: p.width,
    height: p.height,
    ...limitsOf(p.limits),
    sizes: p.sizes.map(({ width, height }) => ({ width, height })),
    tiles: [{ width: p.tileSize, height: p.tileSize, scaleFactors: [...p.scaleFactors] }],
  };
  if (p.rights) info.rights = p.rights;
  if (auth?.length) info.service = auth;
  return info;
}

export function buildInfoJson2(serviceId: string, p: PyramidDescription, c: ServiceCapabilities = DYNAMIC_SERVICE, auth?: AuthProbeService2[]): ImageInfo2 {
  const info: ImageInfo2 = {
    '@context': IMAGE2_CONTEXT,
    '@id': serviceId,
    protocol: IMAGE_PROTOCOL,
    width: p.width,
    height: p.height,
    sizes: p.sizes.map(({ width, height }) => ({ width, height })),
    tiles: [{ width: p.tileSize, height: p.tileSize, scaleFactors: [...p.scaleFactors] }],
    profile:
      c.level === 2
        ? [IMAGE2_LEVEL2, { formats: ['jpg', 'png', ...EXTRA_FORMATS], qualities: ['default', ...EXTRA_QUALITIES], supports: supports2(c), ...limitsOf(p.limits) }]
        : [IMAGE2_LEVEL0, { formats: ['jpg'], qualities: ['default'], ...limitsOf(p.limits) }],
  };
  if (p.rights) info.license = p.rights;
  if (auth?.length) info.service = auth.map((probe) => ({ '@context': AUTH2_CONTEXT, ...probe }));
  return info;
}

function limitsOf(limits: SizeLimits): SizeLimits {
  const out: SizeLimits = {};
  // Image API 3.0: maxHeight is only meaningful with maxWidth.
  if (limits.maxWidth !== undefined) {
    out.maxWidth = limits.maxWidth;
    if (limits.maxHeight !== undefined) out.maxHeight = limits.maxHeight;
  }
  if (limits.maxArea !== undefined) out.maxArea = limits.maxArea;
  return out;
}

/** Rights URIs the IIIF `rights` property admits (Creative Commons and RightsStatements.org). */
export function iiifRightsUri(candidate: string | undefined): string | undefined {
  if (!candidate) return undefined;
  const value = candidate.trim();
  const match = /^https?:\/\/(creativecommons\.org\/(licenses|publicdomain)\/[A-Za-z0-9.\-/]+|rightsstatements\.org\/vocab\/[A-Za-z-]+\/1\.0\/?)$/.exec(value);
  if (!match) return undefined;
  // The canonical forms IIIF uses (and its validators require): both over http, with a trailing slash
  // (Creative Commons over http too: IIIF/api#1874).
  const path = match[1]!.endsWith('/') ? match[1]! : `${match[1]}/`;
  return `http://${path}`;
}
