import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccessDecision } from '../../functions/core/access-policy.ts';
import { isTightening, needsSubstitute, pyramidFilePlacement, substituteSize, withinSizeLimit } from '../../functions/core/access-layout.ts';
import { allTiles, maxSizeFor, scaleFactorsFor, sizesFor, tilesAt } from '../../functions/core/pyramid.ts';

const restricted = (maxLongSide: number): AccessDecision => ({ policy: 'restricted-size', maxLongSide, basis: 'record-rights', reason: 'r', reasonNl: 'r' });
const privately: AccessDecision = { policy: 'private', basis: 'image-flag', reason: 'p', reasonNl: 'p' };
const open: AccessDecision = { policy: 'open', basis: 'default', reason: 'o', reasonNl: 'o' };

describe('withinSizeLimit', () => {
  const image = { width: 6000, height: 4000 };
  const L = 800;
  const full = { x: 0, y: 0, w: 6000, h: 4000 };

  it('lets every pyramid tile through at scale factors ≥ 8 (6000 / 800 = 7.5) and none at 4 or below', () => {
    for (const s of [8, 16, 32]) {
      for (const t of tilesAt(6000, 4000, 512, s)) expect(withinSizeLimit(t.region, t.size, image, L), `s=${s} ${JSON.stringify(t)}`).toBe(true);
    }
    for (const s of [1, 2, 4]) {
      for (const t of tilesAt(6000, 4000, 512, s)) expect(withinSizeLimit(t.region, t.size, image, L), `s=${s} ${JSON.stringify(t)}`).toBe(false);
    }
  });

  it('the whole image: 800 pixels on the long side pass, 801 do not; portrait and float-exact cases', () => {
    expect(withinSizeLimit(full, { width: 800, height: 534 }, image, L)).toBe(true);
    expect(withinSizeLimit(full, { width: 801, height: 534 }, image, L)).toBe(false);
    expect(withinSizeLimit(full, { width: 800, height: 535 }, image, L)).toBe(false);
    // 1093 × (800 / 1093) is 800.0000000000001 in floating point: computed in integers, 800 passes and 801 does not.
    const odd = { width: 1093, height: 700 };
    expect(withinSizeLimit({ x: 0, y: 0, w: 1093, h: 700 }, { width: 800, height: 513 }, odd, L)).toBe(true);
    expect(withinSizeLimit({ x: 0, y: 0, w: 1093, h: 700 }, { width: 801, height: 513 }, odd, L)).toBe(false);
    expect(withinSizeLimit({ x: 0, y: 0, w: 4000, h: 6000 }, { width: 534, height: 800 }, { width: 4000, height: 6000 }, L)).toBe(true);
    expect(withinSizeLimit({ x: 0, y: 0, w: 4000, h: 6000 }, { width: 534, height: 801 }, { width: 4000, height: 6000 }, L)).toBe(false);
  });

  it('interior regions get no rounding up: crafted small regions cannot gather full-resolution pixels', () => {
    // pct:25,25,50,50 = 1500,1000,3000,2000 → at most 400 × 266 (266.67 rounded down: the region is interior).
    expect(withinSizeLimit({ x: 1500, y: 1000, w: 3000, h: 2000 }, { width: 400, height: 266 }, image, L)).toBe(true);
    expect(withinSizeLimit({ x: 1500, y: 1000, w: 3000, h: 2000 }, { width: 400, height: 267 }, image, L)).toBe(false);
    for (const [w, out] of [[1, 1], [7, 1], [8, 2], [14, 2]] as const) {
      expect(withinSizeLimit({ x: 100, y: 100, w, h: w }, { width: out, height: out }, image, L), `${w}→${out}`).toBe(false);
    }
    expect(withinSizeLimit({ x: 100, y: 100, w: 8, h: 8 }, { width: 1, height: 1 }, image, L)).toBe(true);
    expect(withinSizeLimit({ x: 100, y: 100, w: 15, h: 15 }, { width: 2, height: 2 }, image, L)).toBe(true); // 15 × 800 / 6000 = 2 exactly
  });

  it('at the far edges one pixel of rounding up is allowed (edge tiles, whole-image sizes), never more', () => {
    expect(withinSizeLimit({ x: 5999, y: 0, w: 1, h: 4000 }, { width: 1, height: 534 }, image, L)).toBe(true);
    expect(withinSizeLimit({ x: 5999, y: 0, w: 1, h: 4000 }, { width: 2, height: 534 }, image, L)).toBe(false);
    expect(withinSizeLimit({ x: 5999, y: 0, w: 1, h: 4000 }, { width: 1, height: 535 }, image, L)).toBe(false);
    // The same column one pixel in from the edge: no rounding.
    expect(withinSizeLimit({ x: 5998, y: 0, w: 1, h: 4000 }, { width: 1, height: 534 }, image, L)).toBe(false);
  });

  it('an image no larger than the limit is all public', () => {
    expect(withinSizeLimit({ x: 0, y: 0, w: 800, h: 600 }, { width: 800, height: 600 }, { width: 800, height: 600 }, 800)).toBe(true);
    expect(withinSizeLimit({ x: 3, y: 3, w: 10, h: 10 }, { width: 1000, height: 1000 }, { width: 800, height: 600 }, 1000)).toBe(true);
  });

  it('property: every tile at every scale factor s with s × L ≥ max(W, H) passes, and every whole-image size that fits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40_000 }), fc.integer({ min: 1, max: 40_000 }), fc.integer({ min: 16, max: 4000 }), fc.constantFrom(256, 512, 1024), (W, H, L, tileSize) => {
        const M = Math.max(W, H);
        let s = 1;
        while (s * L < M) s *= 2;
        for (const t of tilesAt(W, H, tileSize, s)) if (!withinSizeLimit(t.region, t.size, { width: W, height: H }, L)) return false;
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('property: what passes never shows more than the limit allows, beyond one pixel at the far edges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 50_000 }),
        fc.integer({ min: 2, max: 50_000 }),
        fc.integer({ min: 16, max: 4000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        (W, H, L, fx, fy, fw, fh, width, height) => {
          const M = Math.max(W, H);
          const x = Math.floor(fx * (W - 1));
          const y = Math.floor(fy * (H - 1));
          const region = { x, y, w: Math.max(1, Math.round(fw * (W - x))), h: Math.max(1, Math.round(fh * (H - y))) };
          if (!withinSizeLimit(region, { width, height }, { width: W, height: H }, L) || L >= M) return true;
          // Exact: width × M ≤ w × L (+ M for the far-edge pixel).
          const edgeX = region.x + region.w >= W ? M : 0;
          const edgeY = region.y + region.h >= H ? M : 0;
          return BigInt(width) * BigInt(M) < BigInt(region.w) * BigInt(L) + BigInt(edgeX || 1) && BigInt(height) * BigInt(M) < BigInt(region.h) * BigInt(L) + BigInt(edgeY || 1);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('pyramidFilePlacement', () => {
  const W = 6000;
  const H = 4000;
  const image = { width: W, height: H };
  const maxSize = maxSizeFor(W, H, { maxArea: 16_777_216 });

  it('open: everything public; private: everything protected', () => {
    for (const t of allTiles(W, H, 512)) {
      const path = `${t.regionParam}/${t.size.width},${t.size.height}/0/default.jpg`;
      expect(pyramidFilePlacement(path, image, maxSize, open)).toBe('public');
      expect(pyramidFilePlacement(path, image, maxSize, undefined)).toBe('public');
      expect(pyramidFilePlacement(path, image, maxSize, privately)).toBe('protected');
    }
  });

  it('restricted-size: exactly the levels and sizes within the limit are public, `max` is not', () => {
    const access = restricted(800);
    for (const s of scaleFactorsFor(W, H, 512)) {
      for (const t of tilesAt(W, H, 512, s)) {
        const path = `${t.regionParam}/${t.size.width},${t.size.height}/0/default.jpg`;
        expect(pyramidFilePlacement(path, image, maxSize, access), path).toBe(s >= 8 ? 'public' : 'protected');
      }
    }
    for (const size of sizesFor(W, H, scaleFactorsFor(W, H, 512), { maxArea: 16_777_216 })) {
      expect(pyramidFilePlacement(`full/${size.width},${size.height}/0/default.jpg`, image, maxSize, access)).toBe(size.width <= 800 ? 'public' : 'protected');
    }
    expect(pyramidFilePlacement('full/max/0/default.jpg', image, maxSize, access)).toBe('protected');
    expect(pyramidFilePlacement('full/max/0/default.jpg', image, { width: 750, height: 500 }, access)).toBe('public');
    // A name it cannot read is kept from the public.
    expect(pyramidFilePlacement('../x/0/default.jpg', image, maxSize, access)).toBe('protected');
  });
});

describe('substitutes and tightening', () => {
  it('substituteSize fits the long side and never enlarges', () => {
    expect(substituteSize({ width: 6000, height: 4000 }, 800)).toEqual({ width: 800, height: 533 });
    expect(substituteSize({ width: 4000, height: 6000 }, 800)).toEqual({ width: 533, height: 800 });
    expect(substituteSize({ width: 700, height: 300 }, 800)).toEqual({ width: 700, height: 300 });
    expect(substituteSize({ width: 100_000, height: 1 }, 800)).toEqual({ width: 800, height: 1 });
  });

  it('needsSubstitute only for restricted images larger than their limit', () => {
    expect(needsSubstitute(restricted(800), { width: 6000, height: 4000 })).toBe(true);
    expect(needsSubstitute(restricted(800), { width: 800, height: 600 })).toBe(false);
    expect(needsSubstitute(privately, { width: 6000, height: 4000 })).toBe(false);
    expect(needsSubstitute(undefined, { width: 6000, height: 4000 })).toBe(false);
  });

  it('isTightening orders open > larger limit > smaller limit > private', () => {
    expect(isTightening(undefined, restricted(800))).toBe(true);
    expect(isTightening(open, privately)).toBe(true);
    expect(isTightening(restricted(1200), restricted(800))).toBe(true);
    expect(isTightening(restricted(800), privately)).toBe(true);
    expect(isTightening(privately, restricted(800))).toBe(false);
    expect(isTightening(restricted(800), undefined)).toBe(false);
    expect(isTightening(open, undefined)).toBe(false);
  });
});
