/**
 * Which stored tiles answer a dynamic Image API request, and how to cut the answer out of them.
 *
 * The pyramid is a multi-resolution cache of the master: a request for region R at output size S is read from the
 * coarsest level whose resolution is still at least S/R (so the final step only ever shrinks), using only the
 * tiles of that level that overlap R. The work, the bytes fetched and the memory all follow the output size, not
 * the master's: a 512-pixel view of a 2-gigapixel master touches at most a few tiles of one level.
 */
import { levelSize, regionParam, type Region, type Size } from './pyramid.ts';

export interface PyramidGeometry {
  width: number;
  height: number;
  tileSize: number;
  scaleFactors: readonly number[];
  /** Whole levels stored as single files (the info.json `sizes`): one read instead of many tiles. */
  sizes?: readonly Size[];
}

export interface PlannedTile {
  /** Stored path under the revision: `{region}/{w},{h}/0/default.jpg`. */
  path: string;
  /** Where the tile goes on the level canvas. */
  left: number;
  top: number;
  size: Size;
}

export interface RenderPlan {
  scaleFactor: number;
  /** The canvas the tiles are laid on: the bounding box of the overlapping tiles, in level pixels. */
  canvas: Size;
  tiles: PlannedTile[];
  /** The requested region on that canvas (level pixels, rounded outwards to whole pixels). */
  extract: Region;
  /** Output size before rotation. */
  size: Size;
}

/**
 * A request within maxArea needs at most a few dozen tiles, since the level read is under twice the output's
 * resolution. Only distorted sizes (`full/30000,1`) ask for a huge region at a fine level; 512 tiles of 512² bound
 * the canvas at 134 MP, ~400 MB of pixels, within the function's memory.
 */
export const MAX_TILES_PER_REQUEST = 512;

export function planRender(region: Region, size: Size, pyramid: PyramidGeometry): RenderPlan {
  const { width, height, tileSize } = pyramid;
  const scaleFactor = levelFor(region, size, pyramid.scaleFactors);
  const level = levelSize(width, height, scaleFactor);
  // Outwards rounding keeps every requested pixel; the error is under one level pixel, which the final resize
  // (a reduction by construction) shrinks to under one output pixel.
  const x0 = Math.floor(region.x / scaleFactor);
  const y0 = Math.floor(region.y / scaleFactor);
  const x1 = Math.min(level.width, Math.ceil((region.x + region.w) / scaleFactor));
  const y1 = Math.min(level.height, Math.ceil((region.y + region.h) / scaleFactor));
  const col0 = Math.floor(x0 / tileSize);
  const row0 = Math.floor(y0 / tileSize);
  const col1 = Math.floor((x1 - 1) / tileSize);
  const row1 = Math.floor((y1 - 1) / tileSize);
  const stored = pyramid.sizes?.find((s) => s.width === level.width && s.height === level.height);
  if (stored && x0 === 0 && y0 === 0 && x1 === level.width && y1 === level.height) {
    return {
      scaleFactor,
      canvas: level,
      tiles: [{ path: `full/${level.width},${level.height}/0/default.jpg`, left: 0, top: 0, size: level }],
      extract: { x: 0, y: 0, w: level.width, h: level.height },
      size,
    };
  }
  const count = (col1 - col0 + 1) * (row1 - row0 + 1);
  if (count > MAX_TILES_PER_REQUEST) throw new RangeError(`a request needing ${count} tiles exceeds ${MAX_TILES_PER_REQUEST}`);

  const step = tileSize * scaleFactor;
  const tiles: PlannedTile[] = [];
  for (let row = row0; row <= row1; row++) {
    for (let col = col0; col <= col1; col++) {
      const full = { x: col * step, y: row * step, w: Math.min(step, width - col * step), h: Math.min(step, height - row * step) };
      const tile = { width: Math.ceil(full.w / scaleFactor), height: Math.ceil(full.h / scaleFactor) };
      tiles.push({
        path: `${regionParam(full, width, height)}/${tile.width},${tile.height}/0/default.jpg`,
        left: (col - col0) * tileSize,
        top: (row - row0) * tileSize,
        size: tile,
      });
    }
  }
  const last = tiles[tiles.length - 1]!;
  return {
    scaleFactor,
    canvas: { width: last.left + last.size.width, height: last.top + last.size.height },
    tiles,
    extract: { x: x0 - col0 * tileSize, y: y0 - row0 * tileSize, w: x1 - x0, h: y1 - y0 },
    size,
  };
}

/** The coarsest scale factor whose level still has at least the output's resolution in both directions. */
export function levelFor(region: Region, size: Size, scaleFactors: readonly number[]): number {
  const reduction = Math.min(region.w / size.width, region.h / size.height);
  let chosen = 1;
  for (const s of scaleFactors) if (s <= reduction && s > chosen) chosen = s;
  return chosen;
}
