/**
 * Pyramid maths for a level-0 IIIF image: scale factors, level sizes, the tile grid and the `sizes` list.
 *
 * Rounding follows the IIIF Image API implementation notes and what OpenSeadragon, Mirador, Universal Viewer and
 * Leaflet-IIIF compute: a level at scale factor s is ceil(width / s) × ceil(height / s), and a tile covering the
 * full-resolution region (x, y, w, h) at that level is ceil(w / s) × ceil(h / s) pixels. libvips' dzsave (IIIF 3
 * layout) names its files with exactly the same numbers, which the ingest verifies rather than trusts.
 */

export interface Size {
  width: number;
  height: number;
}

export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Tile {
  scaleFactor: number;
  region: Region;
  /** `full` when the tile is the whole image, as clients ask for the one-tile level. */
  regionParam: string;
  size: Size;
}

/** Limits advertised in info.json; `max` is the largest size within all of them. */
export interface SizeLimits {
  maxWidth?: number;
  maxHeight?: number;
  maxArea?: number;
}

/** 1, 2, 4 … up to the first level at which the whole image fits in one tile. */
export function scaleFactorsFor(width: number, height: number, tileSize: number): number[] {
  assertDimensions(width, height);
  if (!Number.isInteger(tileSize) || tileSize < 1) throw new RangeError(`tile size must be a positive integer, got ${tileSize}`);
  const factors = [1];
  let s = 1;
  while (Math.ceil(width / s) > tileSize || Math.ceil(height / s) > tileSize) {
    s *= 2;
    factors.push(s);
  }
  return factors;
}

export function levelSize(width: number, height: number, scaleFactor: number): Size {
  return { width: Math.ceil(width / scaleFactor), height: Math.ceil(height / scaleFactor) };
}

export function regionParam(region: Region, width: number, height: number): string {
  if (region.x === 0 && region.y === 0 && region.w === width && region.h === height) return 'full';
  return `${region.x},${region.y},${region.w},${region.h}`;
}

/** Every tile of one level, row by row. */
export function tilesAt(width: number, height: number, tileSize: number, scaleFactor: number): Tile[] {
  const step = tileSize * scaleFactor;
  const tiles: Tile[] = [];
  for (let y = 0; y < height; y += step) {
    for (let x = 0; x < width; x += step) {
      const region = { x, y, w: Math.min(step, width - x), h: Math.min(step, height - y) };
      tiles.push({
        scaleFactor,
        region,
        regionParam: regionParam(region, width, height),
        size: { width: Math.ceil(region.w / scaleFactor), height: Math.ceil(region.h / scaleFactor) },
      });
    }
  }
  return tiles;
}

export function allTiles(width: number, height: number, tileSize: number): Tile[] {
  return scaleFactorsFor(width, height, tileSize).flatMap((s) => tilesAt(width, height, tileSize, s));
}

/**
 * The size `max` stands for: the full size, reduced (aspect kept, rounded down) until it satisfies every limit.
 */
export function maxSizeFor(width: number, height: number, limits: SizeLimits = {}): Size {
  assertDimensions(width, height);
  let scale = 1;
  if (limits.maxWidth !== undefined) scale = Math.min(scale, limits.maxWidth / width);
  if (limits.maxHeight !== undefined) scale = Math.min(scale, limits.maxHeight / height);
  if (limits.maxArea !== undefined) scale = Math.min(scale, Math.sqrt(limits.maxArea / (width * height)));
  if (scale >= 1) return { width, height };
  // width × (maxWidth / width) can land a hair under maxWidth in floating point: nudge before flooring, then
  // clamp, so a width limit yields exactly maxWidth rather than one less.
  let w = Math.max(1, Math.min(width, limits.maxWidth ?? width, Math.floor(width * scale + 1e-9)));
  let h = Math.max(1, Math.min(height, limits.maxHeight ?? height, Math.floor(height * scale + 1e-9)));
  // Floating point can land one pixel over the area limit; step down until it holds.
  while (limits.maxArea !== undefined && w * h > limits.maxArea && (w > 1 || h > 1)) {
    if (w >= h) w -= 1;
    else h -= 1;
  }
  return { width: w, height: h };
}

export function withinLimits(size: Size, limits: SizeLimits): boolean {
  return (
    (limits.maxWidth === undefined || size.width <= limits.maxWidth) &&
    (limits.maxHeight === undefined || size.height <= limits.maxHeight) &&
    (limits.maxArea === undefined || size.width * size.height <= limits.maxArea)
  );
}

/**
 * The `sizes` of a level-0 image: every pyramid level that is within the limits, smallest first. Each is stored
 * as a whole image (`full/w,h/0/default.jpg`), so viewers can pick thumbnails without assembling tiles.
 */
export function sizesFor(width: number, height: number, scaleFactors: readonly number[], limits: SizeLimits = {}): Size[] {
  const sizes = scaleFactors
    .map((s) => levelSize(width, height, s))
    .filter((size) => withinLimits(size, limits));
  sizes.sort((a, b) => a.width * a.height - b.width * b.height);
  return sizes;
}

function assertDimensions(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image dimensions must be positive integers, got ${width}×${height}`);
  }
}
