/**
 * Manifests reflect access: restricted-size images carry the Auth 2.0 probe (with the auth context first), their
 * thumbnails come from the size-limited substitute, requiredStatement says why (en + nl), and the documents stay
 * valid Presentation 3.
 */
import { describe, expect, it } from 'vitest';
import type { AccessDecision } from '../../functions/core/access-policy.ts';
import { AUTH2_CONTEXT } from '../../functions/core/auth.ts';
import type { ImageItem } from '../../functions/core/image-item.ts';
import { buildManifest, PRESENTATION3_CONTEXT, thumbnailFor } from '../../functions/core/presentation.ts';
import { buildManifestV2 } from '../../functions/core/presentation-v2.ts';
import { IN_COPYRIGHT, PUBLIC_DOMAIN_MARK } from '../../functions/core/rights.ts';
import { makeImage, ORIGIN_1829A, recordOf } from '../support/presentation-fixtures.ts';
import { PRESENTATION3_SCHEMA_AVAILABLE, validatePresentation3 } from '../support/presentation-schema.ts';

const BASE = 'https://iiif.example.org';
const restrictedAccess: AccessDecision = {
  policy: 'restricted-size',
  maxLongSide: 800,
  basis: 'record-rights',
  reason: 'In copyright until 31 December 2030: shown up to 800 pixels.',
  reasonNl: 'Auteursrechtelijk beschermd tot en met 31 december 2030: getoond tot 800 pixels.',
  rights: IN_COPYRIGHT,
  changesOn: '2031-01-01',
};

function restricted(identifier: string): ImageItem {
  const image = makeImage(identifier);
  image.published = {
    ...image.published!,
    access: restrictedAccess,
    substitute: { identifier: `${identifier}~r1~800`, width: 800, height: 533, tileSize: 512, scaleFactors: [1, 2], sizes: [{ width: 400, height: 267 }, { width: 800, height: 533 }], files: 6 },
  };
  return image;
}

describe('manifests of access-controlled images', () => {
  const record = recordOf(ORIGIN_1829A);
  const objectId = 'mskgent.be:1829-A';

  it('restricted-size: probe service on the image services, auth context first, thumbnail from the substitute, the reason stated', () => {
    const manifest = buildManifest({ baseUrl: BASE, objectId, record, images: [restricted('mskgent.be:1829-A')] });
    expect(manifest['@context']).toEqual([AUTH2_CONTEXT, PRESENTATION3_CONTEXT]);
    const body = manifest.items[0]!.items[0]!.items[0]!.body;
    expect(body.id).toBe(`${BASE}/iiif/3/mskgent.be:1829-A~r1/full/max/0/default.jpg`);
    for (const service of body.service) {
      expect(service.service?.[0]).toMatchObject({ id: `${BASE}/iiif/auth/probe/mskgent.be:1829-A`, type: 'AuthProbeService2' });
      expect(service.service?.[0]?.service[0]).toMatchObject({ type: 'AuthAccessService2', profile: 'active' });
    }
    // Thumbnails never point at what the public cannot get.
    const thumb = manifest.items[0]!.thumbnail[0]!;
    expect(thumb.id).toBe(`${BASE}/iiif/3/mskgent.be:1829-A~r1~800/full/400,267/0/default.jpg`);
    expect(manifest.thumbnail[0]!.id).toBe(thumb.id);
    expect(manifest.requiredStatement!.value.en![0]).toContain('shown up to 800 pixels');
    expect(manifest.requiredStatement!.value.nl![0]).toContain('getoond tot 800 pixels');
    expect(manifest.rights).toBe(IN_COPYRIGHT);
    if (PRESENTATION3_SCHEMA_AVAILABLE) expect(validatePresentation3(manifest)).toEqual([]);
    else console.warn('Presentation 3 schema not found (../shared/fixtures/iiif): schema validation skipped');
  });

  it('open images: no auth services, the single context, the record attribution as before', () => {
    const manifest = buildManifest({ baseUrl: BASE, objectId, record, images: [makeImage('mskgent.be:1829-A')] });
    expect(manifest['@context']).toBe(PRESENTATION3_CONTEXT);
    expect(JSON.stringify(manifest)).not.toContain('AuthProbeService2');
    expect(manifest.requiredStatement?.value.none).toBeDefined();
  });

  it('rights in force: a work whose creators all entered the public domain carries the Public Domain Mark', () => {
    const image = makeImage('mskgent.be:1829-A');
    image.published = { ...image.published!, access: { policy: 'open', basis: 'record-rights', reason: 'Public domain since 1 January 2021.', reasonNl: 'Publiek domein sinds 1 januari 2021.', rights: PUBLIC_DOMAIN_MARK } };
    const manifest = buildManifest({ baseUrl: BASE, objectId, record, rights: { uri: IN_COPYRIGHT, source: 'credit-line', reasoning: '© SABAM' }, images: [image] });
    expect(manifest.rights).toBe(PUBLIC_DOMAIN_MARK);
  });

  it('Presentation 2.1 takes the same thumbnail and states the reason in its attribution', () => {
    const manifest = buildManifestV2({ baseUrl: BASE, objectId, record, images: [restricted('mskgent.be:1829-A')] });
    expect(manifest.thumbnail['@id']).toBe(`${BASE}/iiif/2/mskgent.be:1829-A~r1~800/full/400,/0/default.jpg`);
    expect(manifest.attribution).toContain('shown up to 800 pixels');
  });

  it('collection thumbnails of restricted images come from the substitute', () => {
    const image = restricted('mskgent.be:1829-A');
    expect(thumbnailFor(BASE, { identifier: image.identifier, published: image.published! }).id).toContain('~r1~800/');
  });
});
