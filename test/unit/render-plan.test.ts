import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allTiles, scaleFactorsFor } from '../../functions/core/pyramid.ts';
import { levelFor, planRender } from '../../functions/core/render-plan.ts';

const pyramid = (width: number, height: number, tileSize = 512) => ({ width, height, tileSize, scaleFactors: scaleFactorsFor(width, height, tileSize) });

describe('levelFor', () => {
  it('picks the coarsest level that still has the output resolution', () => {
    const factors = [1, 2, 4, 8, 16];
    expect(levelFor({ x: 0, y: 0, w: 8000, h: 6000 }, { width: 1000, height: 750 }, factors)).toBe(8);
    expect(levelFor({ x: 0, y: 0, w: 8000, h: 6000 }, { width: 1001, height: 751 }, factors)).toBe(4);
    expect(levelFor({ x: 0, y: 0, w: 100, h: 100 }, { width: 400, height: 400 }, factors)).toBe(1); // upscaling
    // Distorting sizes: the direction that needs more resolution decides.
    expect(levelFor({ x: 0, y: 0, w: 8000, h: 6000 }, { width: 100, height: 3000 }, factors)).toBe(2);
  });
});

describe('planRender', () => {
  it('uses the single top tile for a thumbnail of the whole image', () => {
    const plan = planRender({ x: 0, y: 0, w: 11547, h: 8660 }, { width: 200, height: 150 }, pyramid(11547, 8660));
    expect(plan.scaleFactor).toBe(32);
    expect(plan.tiles).toEqual([{ path: 'full/361,271/0/default.jpg', left: 0, top: 0, size: { width: 361, height: 271 } }]);
    expect(plan.extract).toEqual({ x: 0, y: 0, w: 361, h: 271 });
  });

  it('fetches only the tiles overlapping a full-resolution crop', () => {
    const plan = planRender({ x: 1000, y: 500, w: 300, h: 200 }, { width: 300, height: 200 }, pyramid(11547, 8660));
    expect(plan.scaleFactor).toBe(1);
    // x 1000–1299 spans tile columns 1 and 2, y 500–699 rows 0 and 1.
    expect(plan.tiles.map((t) => t.path)).toEqual([
      '512,0,512,512/512,512/0/default.jpg',
      '1024,0,512,512/512,512/0/default.jpg',
      '512,512,512,512/512,512/0/default.jpg',
      '1024,512,512,512/512,512/0/default.jpg',
    ]);
    expect(plan.canvas).toEqual({ width: 1024, height: 1024 });
    expect(plan.extract).toEqual({ x: 488, y: 500, w: 300, h: 200 });
  });

  it('reads a whole level from its stored size file rather than its tiles', () => {
    const geometry = { ...pyramid(11547, 8660), sizes: [{ width: 1444, height: 1083 }, { width: 2887, height: 2165 }] };
    const plan = planRender({ x: 0, y: 0, w: 11547, h: 8660 }, { width: 1200, height: 900 }, geometry);
    expect(plan.scaleFactor).toBe(8);
    expect(plan.tiles).toEqual([{ path: 'full/1444,1083/0/default.jpg', left: 0, top: 0, size: { width: 1444, height: 1083 } }]);
    expect(plan.extract).toEqual({ x: 0, y: 0, w: 1444, h: 1083 });
    // A region of that level still reads tiles.
    expect(planRender({ x: 0, y: 0, w: 5000, h: 5000 }, { width: 600, height: 600 }, geometry).tiles.length).toBeGreaterThan(1);
  });

  it('refuses distorted sizes that would read a huge region at full resolution', () => {
    expect(() => planRender({ x: 0, y: 0, w: 30000, h: 30000 }, { width: 30000, height: 1 }, pyramid(30000, 30000))).toThrow(RangeError);
    // The same region at a sane size reads one coarse level.
    expect(planRender({ x: 0, y: 0, w: 30000, h: 30000 }, { width: 1000, height: 1000 }, pyramid(30000, 30000)).tiles.length).toBeLessThanOrEqual(16);
  });

  it('names tiles exactly as the stored pyramid does, for any image and request', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30000 }),
        fc.integer({ min: 1, max: 30000 }),
        fc.constantFrom(256, 512, 1024),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.0005, max: 2, noNaN: true }),
        (width, height, tileSize, fx, fy, fw, fh, scale) => {
          const x = Math.min(width - 1, Math.floor(fx * width));
          const y = Math.min(height - 1, Math.floor(fy * height));
          const w = Math.max(1, Math.floor(fw * (width - x)));
          const h = Math.max(1, Math.floor(fh * (height - y)));
          const size = { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
          const geometry = pyramid(width, height, tileSize);
          let plan;
          try {
            plan = planRender({ x, y, w, h }, size, geometry);
          } catch (error) {
            if (error instanceof RangeError) return; // beyond the tile budget: refused, not mis-planned
            throw error;
          }
          const stored = new Set(allTiles(width, height, tileSize).filter((t) => t.scaleFactor === plan.scaleFactor).map((t) => `${t.regionParam}/${t.size.width},${t.size.height}/0/default.jpg`));
          for (const tile of plan.tiles) expect(stored.has(tile.path)).toBe(true);
          // The extract lies on the canvas and covers the region at that level.
          const s = plan.scaleFactor;
          expect(plan.extract.x).toBeGreaterThanOrEqual(0);
          expect(plan.extract.y).toBeGreaterThanOrEqual(0);
          expect(plan.extract.x + plan.extract.w).toBeLessThanOrEqual(plan.canvas.width);
          expect(plan.extract.y + plan.extract.h).toBeLessThanOrEqual(plan.canvas.height);
          expect(plan.extract.w).toBeGreaterThanOrEqual(Math.floor(w / s));
          expect(plan.extract.h).toBeGreaterThanOrEqual(Math.floor(h / s));
          // Never a level coarser than the output needs.
          expect(plan.extract.w).toBeGreaterThanOrEqual(Math.min(size.width, Math.ceil(w / s)) - 1);
        },
      ),
      { numRuns: 500 },
    );
  });
});
