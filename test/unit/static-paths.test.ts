import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allTiles } from '../../functions/core/pyramid.ts';
import { storedKeyForPath, tileAliases, tileHeightFor } from '../../functions/core/static-paths.ts';

const id = 'mskgent.be:1829-A~abc';

describe('storedKeyForPath', () => {
  it.each([
    [`/iiif/3/${id}/info.json`, `iiif/3/${id}/info.json`],
    [`/iiif/2/${id}/info.json`, `iiif/2/${id}/info.json`],
    [`/iiif/3/${id}/0,0,512,512/512,512/0/default.jpg`, `iiif/3/${id}/0,0,512,512/512,512/0/default.jpg`],
    [`/iiif/3/${id}/full/max/0/default.jpg`, `iiif/3/${id}/full/max/0/default.jpg`],
    [`/iiif/2/${id}/full/max/0/default.jpg`, `iiif/3/${id}/full/max/0/default.jpg`],
    // Stored only within the size limits; above them the bucket misses and the Image API answers with the error.
    [`/iiif/2/${id}/full/full/0/default.jpg`, `iiif/2/${id}/full/full/0/default.jpg`],
    [`/iiif/2/${id}/2048,2048,952,231/238,/0/default.jpg`, `iiif/3/${id}/2048,2048,952,231/238,58/0/default.jpg`],
    [`/iiif/2/${id}/2048,2048,952,231/476,/0/default.jpg`, `iiif/3/${id}/2048,2048,952,231/476,116/0/default.jpg`],
    [`/iiif/2/${id}/full/375,/0/default.jpg`, `iiif/2/${id}/full/375,/0/default.jpg`],
    [`/iiif/2/${id}/0,0,512,512/full/0/default.jpg`, `iiif/3/${id}/0,0,512,512/512,512/0/default.jpg`],
  ])('%s → %s', (path, key) => {
    expect(storedKeyForPath(path)).toBe(key);
  });

  it.each([
    `/iiif/3/${id}`,
    `/iiif/3/${id}/full/max/90/default.jpg`,
    `/iiif/3/${id}/full/max/0/gray.jpg`,
    `/iiif/3/${id}/full/max/0/default.png`,
    `/iiif/3/${id}/full/full/0/default.jpg`,
    `/iiif/3/${id}/square/max/0/default.jpg`,
    `/iiif/3/${id}/0,0,512,512/512,/0/default.jpg`,
    `/iiif/4/${id}/info.json`,
    '/somewhere/else',
  ])('has no stored file for %s', (path) => {
    expect(storedKeyForPath(path)).toBeUndefined();
  });
});

describe('2.1 tile widths identify the scale factor', () => {
  it('maps every 2.1 tile URL of any pyramid onto a stored tile or an alias the ingest renders', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), fc.constantFrom(128, 256, 512), (w, h, t) => {
        const tiles = allTiles(w, h, t);
        const stored = new Set(tiles.map((tile) => `${tile.regionParam}/${tile.size.width},${tile.size.height}`));
        for (const alias of tileAliases(tiles)) stored.add(alias.to);
        for (const tile of tiles) {
          if (tile.regionParam === 'full') continue;
          const key = storedKeyForPath(`/iiif/2/x/${tile.regionParam}/${tile.size.width},/0/default.jpg`);
          expect(key).toBeDefined();
          expect(stored.has(key!.split('/').slice(3, 5).join('/'))).toBe(true);
          if (tile.size.width >= 2) expect(key).toBe(`iiif/3/x/${tile.regionParam}/${tile.size.width},${tile.size.height}/0/default.jpg`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('adds aliases for 1-pixel tiles that two levels share and for the top level', () => {
    // 1025 wide: the last column is 1 pixel wide at scale factors 1 and 2 with the same region.
    const aliases = tileAliases(allTiles(1025, 1025, 512));
    expect(aliases.length).toBeGreaterThan(0);
    // At scale factor 2 the 1-pixel column 1024,0,1,1024 is 1×512; a 2.1 request `1,` maps to scale factor 1.
    expect(aliases).toContainEqual({ from: '1024,0,1,1024/1,512', to: '1024,0,1,1024/1,1024', size: { width: 1, height: 1024 } });
    // The one-tile level under its coordinates, for Leaflet-IIIF.
    expect(aliases).toContainEqual({ from: 'full/257,257', to: '0,0,1025,1025/257,257', size: { width: 257, height: 257 } });
    expect(tileHeightFor(952, 231, 238)).toBe(58);
    expect(tileHeightFor(952, 231, 1000)).toBeUndefined();
  });
});
