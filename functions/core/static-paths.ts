/**
 * Which stored file answers a public Image API URL, for the static (level-0) part of the service. The same code
 * runs in the CloudFront viewer-request function and in the one-machine router, so both serve identical URLs.
 *
 * Image API 3.0 URLs are stored as they are. Image API 2.1 URLs are mapped onto the 3.0 files, so the pyramid is
 * stored once:
 *   - info.json is stored per version (the documents differ);
 *   - a 2.1 tile `x,y,w,h/{sw},/0/default.jpg` names only the width. In a power-of-two pyramid a tile's width
 *     ceil(w/s) identifies its scale factor s whenever it is at least 2 pixels (for s and 2s to give the same
 *     width, w/s would have to lie in (w'-1, w'] and (2w'-2, 2w'], which only overlap for w' < 2), so the height
 *     is ceil(h/s). For 1-pixel-wide edge tiles the smallest such s is taken, and the ingest stores a file
 *     under that name too (see `extraTilesForV2`);
 *   - 2.1 `max` of the full image is 3.0's `max`; `full` of a tile region is that tile; the whole-image sizes, and
 *     `full/full` for images within the limits, are stored under their 2.1 names.
 * Anything else (other rotations, qualities, formats, arbitrary sizes) is not a stored file: `undefined`.
 *
 * Written in plain, dependency-free TypeScript that esbuild turns into CloudFront Functions JavaScript.
 */

const TILE_OR_SIZE = /^(full|\d+,\d+,\d+,\d+)\/(max|full|\d+,|\d+,\d+)\/0\/default\.jpg$/;

export interface StaticRoute {
  /** The stored key that answers this URL. */
  key: string;
}

/** Parse `/iiif/{2|3}/{identifier}/{rest}`; identifiers never contain `/`. */
export function splitImagePath(path: string): { version: 2 | 3; identifier: string; rest: string } | undefined {
  const match = /^\/iiif\/([23])\/([^/]+)(?:\/(.*))?$/.exec(path);
  if (!match) return undefined;
  return { version: match[1] === '2' ? 2 : 3, identifier: match[2]!, rest: match[3] ?? '' };
}

export function storedKeyForPath(path: string): string | undefined {
  const parts = splitImagePath(path);
  if (!parts || parts.rest === '') return undefined;
  const { version, identifier, rest } = parts;
  if (rest === 'info.json') return `iiif/${version}/${identifier}/info.json`;
  const match = TILE_OR_SIZE.exec(rest);
  if (!match) return undefined;
  const region = match[1]!;
  const size = match[2]!;
  if (version === 3) {
    if (size === 'full' || size.endsWith(',')) return undefined; // `full` is not 3.0; `w,` is not canonical 3.0
    return `iiif/3/${identifier}/${region}/${size}/0/default.jpg`;
  }
  if (size === 'full' || size === 'max') {
    // 2.1 `full/full` is the whole image at full size: the ingest stores it only for images within the limits
    // (above them the spec's answer is an error, which the Image API gives when the bucket has no such file).
    if (region === 'full') return size === 'max' ? `iiif/3/${identifier}/full/max/0/default.jpg` : `iiif/2/${identifier}/full/full/0/default.jpg`;
    const [, , w, h] = region.split(',');
    return `iiif/3/${identifier}/${region}/${w},${h}/0/default.jpg`;
  }
  if (size.endsWith(',')) {
    const width = Number(size.slice(0, -1));
    if (region === 'full') return `iiif/2/${identifier}/full/${width},/0/default.jpg`;
    const [, , rw, rh] = region.split(',').map(Number) as [number, number, number, number];
    const height = tileHeightFor(rw, rh, width);
    return height === undefined ? undefined : `iiif/3/${identifier}/${region}/${width},${height}/0/default.jpg`;
  }
  return `iiif/3/${identifier}/${region}/${size}/0/default.jpg`;
}

/** The height of a pyramid tile over a w×h region that is `width` pixels wide (see the module comment). */
export function tileHeightFor(regionWidth: number, regionHeight: number, width: number): number | undefined {
  if (width < 1 || regionWidth < 1 || regionHeight < 1) return undefined;
  for (let s = 1; s <= 1 << 30; s *= 2) {
    const w = Math.ceil(regionWidth / s);
    if (w === width) return Math.ceil(regionHeight / s);
    if (w < width) return undefined;
  }
  return undefined;
}

export interface TileAlias {
  /** The stored tile whose pixels answer the alias: `{region}/{w},{h}`. */
  from: string;
  /** The alias, `{region}/{w},{h}`, rendered at its own size. */
  to: string;
  size: { width: number; height: number };
}

type TileLike = { regionParam: string; region: { x: number; y: number; w: number; h: number }; size: { width: number; height: number } };

/**
 * Extra stored names some clients need, beyond the tiles dzsave writes:
 *  - the one-tile level also under its coordinates (`0,0,W,H/w,h`): Leaflet-IIIF never asks for region `full`;
 *  - 1-pixel-wide edge tiles whose 2.1 URL maps (by {@link tileHeightFor}) to a height the pyramid lacks.
 */
export function tileAliases(tiles: readonly TileLike[]): TileAlias[] {
  const name = (region: string, size: { width: number; height: number }) => `${region}/${size.width},${size.height}`;
  const existing = new Set(tiles.map((t) => name(t.regionParam, t.size)));
  const aliases = new Map<string, TileAlias>();
  const add = (from: string, to: string, size: { width: number; height: number }) => {
    if (!existing.has(to) && !aliases.has(to)) aliases.set(to, { from, to, size });
  };
  for (const t of tiles) {
    const coordinates = `${t.region.x},${t.region.y},${t.region.w},${t.region.h}`;
    if (t.regionParam === 'full') add(name('full', t.size), name(coordinates, t.size), t.size);
    const height = tileHeightFor(t.region.w, t.region.h, t.size.width);
    if (height !== undefined && height !== t.size.height) {
      const size = { width: t.size.width, height };
      add(name(t.regionParam, t.size), name(coordinates, size), size);
    }
  }
  return [...aliases.values()];
}
