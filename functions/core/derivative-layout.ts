/**
 * Where derivatives live in the derivative store. Keys are the public URL paths without the leading slash, so the
 * CDN serves the store as it is:
 *
 *   iiif/3/{identifier}/info.json                      current revision, Image API 3.0 (short cache)
 *   iiif/2/{identifier}/info.json                      current revision, Image API 2.1 (short cache)
 *   iiif/3/{identifier}~{rev}/info.json                one immutable revision
 *   iiif/3/{identifier}~{rev}/{region}/{w},{h}/0/default.jpg   tiles and sizes (immutable)
 *   iiif/3/{identifier}~{rev}/full/max/0/default.jpg
 *   iiif/2/{identifier}~{rev}/info.json
 *   iiif/2/{identifier}~{rev}/full/{w},/0/default.jpg  the `sizes` under their 2.1 canonical name
 *
 * 2.1 tile requests are answered from the 3.0 files (see {@link storedKeyForPath}); only the few whole-image sizes
 * are stored under a 2.1 name too, because mapping `full/{w},` needs the image's height, which a URL alone
 * does not carry.
 */
import { REVISION_SEPARATOR } from './identifier.ts';
import type { Size } from './pyramid.ts';

export type ApiVersion = 2 | 3;

export function infoJsonKey(version: ApiVersion, identifier: string): string {
  return `iiif/${version}/${identifier}/info.json`;
}

export function pyramidFileKey(revisionId: string, path: string): string {
  return `iiif/3/${revisionId}/${path}`;
}

export function sizeKeyV2(revisionId: string, size: Size): string {
  return `iiif/2/${revisionId}/full/${size.width},/0/default.jpg`;
}

/** 2.1's `full/full`, stored only for images within the size limits (see static-paths.ts). */
export function fullSizeKeyV2(revisionId: string): string {
  return `iiif/2/${revisionId}/full/full/0/default.jpg`;
}

/** Prefixes under which every revision of an identifier is stored (`~` never occurs in identifiers). */
export function revisionPrefixes(identifier: string, revision = ''): string[] {
  return [`iiif/3/${identifier}${REVISION_SEPARATOR}${revision}`, `iiif/2/${identifier}${REVISION_SEPARATOR}${revision}`];
}

export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
/** The stable info.json changes when a master is replaced: let caches revalidate often. */
export const CACHE_CURRENT_INFO = 'public, max-age=300, s-maxage=60';
