import { describe, expect, it } from 'vitest';
import { identifierForKey, isIdentifier, revisionIdentifier, splitRevisionIdentifier } from '../../functions/core/identifier.ts';

describe('identifierForKey', () => {
  it.each([
    ['mskgent.be/1829-A.tif', 'mskgent.be:1829-A'],
    ['67352ccc-d1b0-11e1-89ae-279075081939.png', '67352ccc-d1b0-11e1-89ae-279075081939'],
    ['groeningemuseum.be/0000.GRO0208.I.tif', 'groeningemuseum.be:0000.GRO0208.I'],
    ['groeningemuseum.be/0000.GRO0208.I', 'groeningemuseum.be:0000.GRO0208.I'],
    ['kmska.be/scans/257 recto.TIFF', 'kmska.be:scans:257_recto'],
    ['musée/Bruegel (détail).jp2', 'musee:Bruegel_detail'],
    ['a/b.JPEG', 'a:b'],
  ])('%s → %s', (key, identifier) => {
    const result = identifierForKey(key);
    expect(result).toMatchObject({ kind: 'identifier', identifier });
    if (result.kind === 'identifier') expect(isIdentifier(result.identifier)).toBe(true);
  });

  it('keeps the raw file name and first folder as link hints', () => {
    expect(identifierForKey('mskgent.be/1829-A.tif')).toMatchObject({ hints: { institution: 'mskgent.be', objectNumber: '1829-A' } });
    expect(identifierForKey('x.png')).toMatchObject({ hints: { objectNumber: 'x' } });
  });

  it.each(['folder/', 'a/.DS_Store', 'a/._1829-A.tif', 'Thumbs.db'])('ignores %s', (key) => {
    expect(identifierForKey(key).kind).toBe('ignored');
  });

  it.each([
    ['a//b.tif', /empty path segment/],
    ['ØØØ/b.tif', /no characters usable/],
    ['../b.tif', /no characters usable/],
    [`${'x'.repeat(250)}.tif`, /characters long/],
    ['', /empty object key/],
  ])('refuses %s with a reason', (key, reason) => {
    const result = identifierForKey(key);
    expect(result.kind).toBe('refused');
    if (result.kind === 'refused') expect(result.reason).toMatch(reason);
  });

  it('maps different masters of one object to the same identifier (the ingest refuses the second)', () => {
    const a = identifierForKey('m/1829-A.tif');
    const b = identifierForKey('m/1829-A.jpg');
    expect(a.kind === 'identifier' && b.kind === 'identifier' && a.identifier === b.identifier).toBe(true);
  });

  it('never produces the revision separator', () => {
    const result = identifierForKey('a~b/c~d.tif');
    expect(result).toMatchObject({ identifier: 'a_b:c_d' });
  });
});

describe('revision identifiers', () => {
  it('round-trips', () => {
    const id = revisionIdentifier('mskgent.be:1829-A', 'abc123');
    expect(id).toBe('mskgent.be:1829-A~abc123');
    expect(splitRevisionIdentifier(id)).toEqual({ identifier: 'mskgent.be:1829-A', revision: 'abc123' });
    expect(splitRevisionIdentifier('plain')).toEqual({ identifier: 'plain' });
  });
});
