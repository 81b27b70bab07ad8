import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allTiles, levelSize, maxSizeFor, scaleFactorsFor, sizesFor, tilesAt } from '../../functions/core/pyramid.ts';

describe('scaleFactorsFor', () => {
  it.each([
    [3000, 2279, 512, [1, 2, 4, 8]],
    [512, 512, 512, [1]],
    [513, 10, 512, [1, 2]],
    [1, 1, 512, [1]],
    [100_000, 10_000, 512, [1, 2, 4, 8, 16, 32, 64, 128, 256]],
  ])('%i×%i tiles of %i → %j', (w, h, t, expected) => {
    expect(scaleFactorsFor(w, h, t)).toEqual(expected);
  });

  it('rejects impossible input', () => {
    expect(() => scaleFactorsFor(0, 10, 512)).toThrow(RangeError);
    expect(() => scaleFactorsFor(10, 10, 0)).toThrow(RangeError);
  });
});

describe('tiles', () => {
  it('names the one-tile level `full` and sizes edge tiles with ceil', () => {
    const top = tilesAt(3000, 2279, 512, 8);
    expect(top).toEqual([{ scaleFactor: 8, region: { x: 0, y: 0, w: 3000, h: 2279 }, regionParam: 'full', size: { width: 375, height: 285 } }]);
    const corner = tilesAt(3000, 2279, 512, 4).at(-1)!;
    expect(corner.regionParam).toBe('2048,2048,952,231');
    expect(corner.size).toEqual({ width: 238, height: 58 });
  });

  it('covers every level exactly, tile sizes within the tile size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6_000 }), fc.integer({ min: 1, max: 6_000 }), fc.constantFrom(128, 256, 512, 1024), (w, h, t) => {
        for (const s of scaleFactorsFor(w, h, t)) {
          const tiles = tilesAt(w, h, t, s);
          const area = tiles.reduce((sum, tile) => sum + tile.region.w * tile.region.h, 0);
          expect(area).toBe(w * h);
          const level = levelSize(w, h, s);
          const columns = new Set(tiles.map((tile) => tile.region.x)).size;
          const rows = new Set(tiles.map((tile) => tile.region.y)).size;
          expect(columns).toBe(Math.ceil(level.width / t));
          expect(rows).toBe(Math.ceil(level.height / t));
          for (const tile of tiles) {
            expect(tile.size.width).toBeLessThanOrEqual(t);
            expect(tile.size.height).toBeLessThanOrEqual(t);
          }
        }
        const last = scaleFactorsFor(w, h, t).at(-1)!;
        expect(tilesAt(w, h, t, last)).toHaveLength(1);
      }),
      { numRuns: 100 },
    );
  });

  it('counts a 100 MP pyramid', () => {
    // 23×17 + 12×9 + 6×5 + 3×3 + 2×2 + 1 tiles at scale factors 1 … 32.
    expect(allTiles(11_547, 8_660, 512).length).toBe(391 + 108 + 30 + 9 + 4 + 1);
  });
});

describe('maxSizeFor and sizesFor', () => {
  it('keeps full size within the limits and fits larger images into maxArea', () => {
    expect(maxSizeFor(3000, 2000, { maxArea: 16_777_216 })).toEqual({ width: 3000, height: 2000 });
    const max = maxSizeFor(11_547, 8_660, { maxArea: 16_777_216 });
    expect(max.width * max.height).toBeLessThanOrEqual(16_777_216);
    expect(max.width / max.height).toBeCloseTo(11_547 / 8_660, 2);
    expect(maxSizeFor(4000, 1000, { maxWidth: 1000 })).toEqual({ width: 1000, height: 250 });
  });

  it('never exceeds the area limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 4096, max: 50_000_000 }), (w, h, area) => {
        const max = maxSizeFor(w, h, { maxArea: area });
        expect(max.width * max.height).toBeLessThanOrEqual(Math.max(area, 1));
        expect(max.width).toBeLessThanOrEqual(w);
        expect(max.height).toBeLessThanOrEqual(h);
      }),
    );
  });

  it('meets a width or height limit exactly, never one pixel short', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (w, h, f) => {
        const maxWidth = Math.max(1, Math.floor(w * f));
        const max = maxSizeFor(w, h, { maxWidth });
        expect(max.width).toBe(maxWidth);
        expect(maxSizeFor(h, w, { maxWidth: h, maxHeight: maxWidth }).height).toBe(maxWidth);
      }),
    );
  });

  it('lists levels within the limits, smallest first', () => {
    expect(sizesFor(3000, 2279, [1, 2, 4, 8], { maxArea: 2_000_000 })).toEqual([
      { width: 375, height: 285 },
      { width: 750, height: 570 },
      { width: 1500, height: 1140 },
    ]);
  });
});
