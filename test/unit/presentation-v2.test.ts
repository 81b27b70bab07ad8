/**
 * Presentation 2.1: no JSON Schema is available, so the structure is asserted precisely, and every manifest built
 * from a real record is checked against the 3.0 manifest of the same input (same canvases, images, metadata).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImageItem } from '../../functions/core/image-item.ts';
import { parseLidoDocument } from '../../functions/core/lido.ts';
import {
  buildManifest,
  collectionPages,
  objectIdFor,
  type CollectionManifest,
  type ImageService2Ref,
  type ManifestInput,
} from '../../functions/core/presentation.ts';
import {
  buildCollectionPageV2,
  buildInstitutionCollectionV2,
  buildManifestV2,
  buildTopCollectionV2,
  text2,
  type Manifest2,
} from '../../functions/core/presentation-v2.ts';
import { emptyRecord, type MappedRecord } from '../../functions/core/record.ts';
import { decideRights } from '../../functions/core/rights.ts';
import { DESTINATION_257, GET_RECORD, ORIGIN_1829A, ORIGIN_GRO0208, makeImage, recordOf, DATAHUB_FIXTURES, SHARED_DATAHUB } from '../support/presentation-fixtures.ts';

const FIXTURES = DATAHUB_FIXTURES;
const SHARED = SHARED_DATAHUB;
const haveShared = existsSync(SHARED);
if (!haveShared) console.warn(`skipping the 2.1 manifest sweep over the shared data-hub records: ${SHARED} is absent`);

const BASE = 'https://iiif.example.org';
const P2 = `${BASE}/iiif/presentation/2`;
const IMAGE2_CONTEXT = 'http://iiif.io/api/image/2/context.json';
const LEVEL2 = 'http://iiif.io/api/image/2/level2.json';



function inputFor(record: MappedRecord, images: ImageItem[], extra: Partial<ManifestInput> = {}): ManifestInput {
  return { baseUrl: BASE, objectId: objectIdFor(record)!, record, images, ...extra };
}

function metaValue(manifest: Manifest2, en: string): unknown {
  return manifest.metadata.find((m) => Array.isArray(m.label) && m.label.some((l) => typeof l !== 'string' && l['@value'] === en))?.value;
}

describe('Presentation 2.1 manifest: MSK Gent 1829-A', () => {
  const original = recordOf(ORIGIN_1829A);
  // The 2019 record has no credit line; one as the 2021–22 records write it.
  const record = { ...original, rights: { ...original.rights, creditLine: 'CC0' } };
  const image = makeImage('mskgent.be:1829-A', 6000, 4000, 'r1');
  const rights = decideRights(record, undefined);
  const manifest = buildManifestV2(inputFor(record, [image], { rights, seeAlso: { getRecordUrl: `${GET_RECORD}${record.recordId}` } }));
  const service = { '@context': IMAGE2_CONTEXT, '@id': `${BASE}/iiif/2/mskgent.be:1829-A~r1`, profile: LEVEL2 };
  const canvasId = `${P2}/mskgent.be:1829-A/canvas/mskgent.be:1829-A`;

  it('has the 2.1 identity, a one-string label and language-tagged description', () => {
    expect(manifest['@context']).toBe('http://iiif.io/api/presentation/2/context.json');
    expect(manifest['@id']).toBe(`${P2}/mskgent.be:1829-A/manifest.json`);
    expect(manifest['@type']).toBe('sc:Manifest');
    expect(manifest.label).toBe('De nimf Salmacis en Hermaphroditus');
    expect(manifest.description).toEqual([{ '@value': expect.stringMatching(/^Het verhaal van Salmacis/), '@language': 'nl' }]);
  });

  it('gives the same metadata as 3.0, labels and values language-tagged, untagged text as plain strings', () => {
    expect(manifest.metadata[0]).toEqual({
      label: [
        { '@value': 'Title', '@language': 'en' },
        { '@value': 'Titel', '@language': 'nl' },
      ],
      value: [
        { '@value': 'De nimf Salmacis en Hermaphroditus', '@language': 'nl' },
        'La Nymphe Salmacis et Hermaphrodite',
        'The Nymph Salmacis and Hermaphrodite',
        'Die Nymphe Salmakis und Hermaphroditos',
      ],
    });
    expect(metaValue(manifest, 'Creator')).toBe('Navez, François-Joseph (1787–1869)');
    expect(metaValue(manifest, 'Period')).toEqual([{ '@value': '19de eeuw', '@language': 'nl' }]);
    expect(metaValue(manifest, 'Credit line')).toBe('CC0');
    expect(manifest.metadata).toHaveLength(buildManifest(inputFor(record, [image])).metadata.length);
    expect(buildManifestV2(inputFor(original, [image])).metadata).toHaveLength(manifest.metadata.length - 1);
  });

  it('states attribution, licence, the museum page, the LIDO record and the collection it is within', () => {
    expect(manifest.attribution).toBe('CC0 — Museum voor Schone Kunsten Gent');
    expect(manifest.license).toBe('http://creativecommons.org/publicdomain/zero/1.0/');
    expect(manifest.related).toEqual({ '@id': 'http://mskgent.be/collection/work/id/1829-A', format: 'text/html', label: 'De nimf Salmacis en Hermaphroditus' });
    expect(manifest.seeAlso).toEqual({
      '@id': `${GET_RECORD}oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A`,
      format: 'text/xml',
      profile: 'http://www.lido-schema.org',
      label: 'Object Description in XML',
    });
    expect(manifest.within).toBe(`${P2}/collection/mskgent.be.json`);
    expect(manifest.navDate).toBe('1829-01-01T00:00:00Z');
    expect(manifest).not.toHaveProperty('viewingHint');
  });

  it('has one sequence of one canvas painted with the largest size the service returns', () => {
    const published = image.published!;
    expect(published.maxSize).toEqual({ width: 5016, height: 3344 });
    expect(manifest.sequences).toEqual([
      {
        '@id': `${P2}/mskgent.be:1829-A/sequence/normal`,
        '@type': 'sc:Sequence',
        canvases: [
          {
            '@id': canvasId,
            '@type': 'sc:Canvas',
            label: '1',
            width: 6000,
            height: 4000,
            thumbnail: manifest.thumbnail,
            images: [
              {
                '@id': `${canvasId}/image`,
                '@type': 'oa:Annotation',
                motivation: 'sc:painting',
                on: canvasId,
                // Above the area limit `full/full` would be refused: the width `max` has.
                resource: { '@id': `${service['@id']}/full/5016,/0/default.jpg`, '@type': 'dctypes:Image', format: 'image/jpeg', width: 5016, height: 3344, service },
              },
            ],
          },
        ],
      },
    ]);
  });

  it('uses the 3.0 thumbnail size under its stored 2.1 name, and the same 2.1 service as the 3.0 manifest', () => {
    const thumbnail = manifest.thumbnail;
    expect(image.published!.sizes).toContainEqual({ width: thumbnail.width, height: thumbnail.height });
    expect(thumbnail).toEqual({ '@id': `${service['@id']}/full/${thumbnail.width},/0/default.jpg`, '@type': 'dctypes:Image', format: 'image/jpeg', width: thumbnail.width, height: thumbnail.height, service });
    const v3 = buildManifest(inputFor(record, [image]));
    expect([v3.thumbnail[0]!.width, v3.thumbnail[0]!.height]).toEqual([thumbnail.width, thumbnail.height]);
    expect((v3.items[0]!.items[0]!.items[0]!.body.service[1] as ImageService2Ref)['@id']).toBe(service['@id']);
  });

  it('paints full/full when the whole image is within the limits', () => {
    const small = buildManifestV2(inputFor(record, [makeImage('mskgent.be:1829-A', 3000, 2000, 'r2')]));
    expect(small.sequences[0]!.canvases[0]!.images[0]!.resource).toMatchObject({ '@id': `${BASE}/iiif/2/mskgent.be:1829-A~r2/full/full/0/default.jpg`, width: 3000, height: 2000 });
  });
});

describe('Presentation 2.1 manifest: several images, related works, labels', () => {
  it('keeps the canvas order and shows the views as individuals', () => {
    const record = recordOf(ORIGIN_GRO0208);
    const id = 'groeningemuseum.be:0000_GRO0208_I';
    const manifest = buildManifestV2(inputFor(record, [makeImage(id), makeImage(`${id}_verso`), makeImage(`${id}_detail`)]));
    expect(manifest.viewingHint).toBe('individuals');
    const canvases = manifest.sequences[0]!.canvases;
    expect(canvases.map((c) => [c['@id'], c.label])).toEqual([
      [`${P2}/${id}/canvas/${id}`, '1'],
      [`${P2}/${id}/canvas/${id}_verso`, '2'],
      [`${P2}/${id}/canvas/${id}_detail`, '3'],
    ]);
    for (const c of canvases) expect(c.images[0]!.on).toBe(c['@id']);
    expect(manifest.thumbnail).toEqual(canvases[0]!.thumbnail);
    expect(manifest.label).toBe('Laatste Oordeel');
  });

  it('is within the whole of a panel as well as its collection', () => {
    const panel = recordOf(DESTINATION_257);
    const manifest = buildManifestV2(inputFor(panel, [makeImage('kmska.be:257')], { related: [{ relation: 'isPartOf', objectId: 'kmska.be:257-260', label: { nl: ['Orsini Polyptiek'] } }] }));
    expect(manifest.within).toEqual([`${P2}/collection/kmska.be.json`, `${P2}/kmska.be:257-260/manifest.json`]);
    expect(metaValue(manifest, 'Related work')).toEqual([
      { '@value': 'is part of: Orsini Polyptiek', '@language': 'en' },
      { '@value': 'is deel van: Orsini Polyptiek', '@language': 'nl' },
    ]);
    expect(manifest.description).toEqual([
      { '@value': expect.any(String), '@language': 'nl' },
      { '@value': expect.stringMatching(/^Originally formed the four scenes/), '@language': 'en' },
    ]);
  });

  it('labels with the Dutch title, else another, else the object number; omits what it does not have', () => {
    const minimal = { ...emptyRecord('oai:datahub.kmska.be:kmska.be:5000'), objectNumber: '5000', workPid: 'https://kmska.be/collection/work/id/5000' };
    const build = (changes: Partial<MappedRecord>) => buildManifestV2({ baseUrl: BASE, objectId: 'kmska.be:5000', record: { ...minimal, ...changes }, images: [makeImage('kmska.be:5000')] });
    expect(build({ titles: { en: ['The sick'], nl: ['De zieke'] } }).label).toBe('De zieke');
    expect(build({ titles: { en: ['The sick'] } }).label).toBe('The sick');
    const bare = build({ workPid: undefined, dates: { earliest: '-0050' } });
    expect(bare.label).toBe('5000');
    for (const absent of ['description', 'attribution', 'license', 'related', 'seeAlso', 'navDate', 'viewingHint']) expect(bare).not.toHaveProperty(absent);
    // The date is shown as written; it only is no date to navigate by.
    expect(bare.metadata).toEqual([
      { label: [{ '@value': 'Date', '@language': 'en' }, { '@value': 'Datering', '@language': 'nl' }], value: '-0050' },
      { label: [{ '@value': 'Object number', '@language': 'en' }, { '@value': 'Objectnummer', '@language': 'nl' }], value: '5000' },
    ]);
  });

  it('refuses what the 3.0 builder refuses', () => {
    const record = recordOf(ORIGIN_1829A);
    expect(() => buildManifestV2(inputFor(record, []))).toThrow(/at least one Canvas/);
    expect(() => buildManifestV2({ ...inputFor(record, [makeImage('a:b')]), objectId: 'nope' })).toThrow(/not an object id/);
  });

  it('writes language maps as 2.1 text', () => {
    expect(text2({})).toBeUndefined();
    expect(text2({ none: ['x'] })).toBe('x');
    expect(text2({ none: ['x', 'y'] })).toEqual(['x', 'y']);
    expect(text2({ nl_BE: ['a'], none: ['b'] })).toEqual([{ '@value': 'a', '@language': 'nl-BE' }, 'b']);
  });
});

describe('Presentation 2.1 collections', () => {
  const institution = { key: 'mskgent.be', label: { nl: ['Museum voor Schone Kunsten Gent'], en: ['Museum of Fine Arts Ghent'] } };
  const entries: CollectionManifest[] = Array.from({ length: 1001 }, (_, i) => ({ objectId: `mskgent.be:${1000 + i}-A`, label: { en: [`Work ${i}`], nl: [`Werk ${i}`] } }));

  it('top: viewingHint top, institution collections only', () => {
    const top = buildTopCollectionV2({ baseUrl: BASE, institutions: [{ ...institution, count: 2 }, { key: 'kmska.be', label: {} }] });
    expect(top).toEqual({
      '@context': 'http://iiif.io/api/presentation/2/context.json',
      '@id': `${P2}/collection/top.json`,
      '@type': 'sc:Collection',
      label: 'Collecties',
      viewingHint: 'top',
      collections: [
        { '@id': `${P2}/collection/mskgent.be.json`, '@type': 'sc:Collection', label: 'Museum voor Schone Kunsten Gent', description: [{ '@value': '2 objects', '@language': 'en' }, { '@value': '2 objecten', '@language': 'nl' }] },
        { '@id': `${P2}/collection/kmska.be.json`, '@type': 'sc:Collection', label: 'kmska.be' },
      ],
    });
    expect(buildTopCollectionV2({ baseUrl: BASE, institutions: [] }).collections).toEqual([]);
  });

  it('institution, flat: its manifests with thumbnails, within the top', () => {
    const image = makeImage('mskgent.be:1000-A');
    const collection = buildInstitutionCollectionV2({ baseUrl: BASE, institution, manifests: [{ ...entries[0]!, thumbnail: { identifier: image.identifier, published: image.published! } }, entries[1]!] });
    expect(collection).toMatchObject({ '@id': `${P2}/collection/mskgent.be.json`, '@type': 'sc:Collection', label: 'Museum voor Schone Kunsten Gent', within: `${P2}/collection/top.json` });
    expect(collection).not.toHaveProperty('collections');
    expect(collection.manifests).toEqual([
      {
        '@id': `${P2}/mskgent.be:1000-A/manifest.json`,
        '@type': 'sc:Manifest',
        label: 'Werk 0',
        thumbnail: expect.objectContaining({ '@id': expect.stringMatching(/^https:\/\/iiif\.example\.org\/iiif\/2\/mskgent\.be:1000-A~r1\/full\/\d+,\/0\/default\.jpg$/) }),
      },
      { '@id': `${P2}/mskgent.be:1001-A/manifest.json`, '@type': 'sc:Manifest', label: 'Werk 1' },
    ]);
    expect(buildInstitutionCollectionV2({ baseUrl: BASE, institution, manifests: [] }).manifests).toEqual([]);
  });

  it('institution, paged: page collections; a page lists its manifests within the institution', () => {
    const pages = collectionPages(entries);
    const collection = buildInstitutionCollectionV2({ baseUrl: BASE, institution, manifests: entries, pages });
    expect(collection).not.toHaveProperty('manifests');
    expect(collection.collections).toEqual([
      { '@id': `${P2}/collection/mskgent.be/mskgent.be:1000-A.json`, '@type': 'sc:Collection', label: '1000-A – 1499-A' },
      { '@id': `${P2}/collection/mskgent.be/mskgent.be:1500-A.json`, '@type': 'sc:Collection', label: '1500-A – 1999-A' },
      { '@id': `${P2}/collection/mskgent.be/mskgent.be:2000-A.json`, '@type': 'sc:Collection', label: '2000-A' },
    ]);
    const page = buildCollectionPageV2({ baseUrl: BASE, institution, ...pages[1]! });
    expect(page).toMatchObject({ '@id': `${P2}/collection/mskgent.be/mskgent.be:1500-A.json`, label: '1500-A – 1999-A', within: `${P2}/collection/mskgent.be.json` });
    expect(page.manifests).toHaveLength(500);
    expect(page.manifests![0]).toEqual({ '@id': `${P2}/mskgent.be:1500-A/manifest.json`, '@type': 'sc:Manifest', label: 'Werk 500' });
    expect(buildCollectionPageV2({ baseUrl: BASE, institution, firstObjectId: 'mskgent.be:9', manifests: [] }).label).toBe('vanaf 9');
  });
});

// ---------------------------------------------------------------------------------------------------------------

function allXml(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? allXml(path) : name.endsWith('.xml') ? [path] : [];
  });
}

/** Every string value under an `@id`, `on` or `within` key. */
function ids(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(ids);
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [...(['@id', 'on', 'within'].includes(k) ? [v].flat().filter((s): s is string => typeof s === 'string') : []), ...ids(v)]);
}

/** Each 2.1 manifest agrees with the 3.0 manifest of the same input, and every id in it is an absolute http(s) URL. */
function sweep(dir: string): number {
  let count = 0;
  for (const path of allXml(dir)) {
    for (const { record } of parseLidoDocument(readFileSync(path, 'utf8')).records) {
      if (record.deleted) continue;
      const input: ManifestInput = {
        baseUrl: BASE,
        objectId: objectIdFor(record) ?? `test.example:record-${count}`,
        record,
        images: [makeImage('test:a', 1000, 1500), makeImage('test:b', 200, 100), makeImage('test:c', 30_000, 2_000)],
        rights: decideRights(record, undefined),
        seeAlso: { getRecordUrl: `${GET_RECORD}${record.recordId}` },
      };
      const v2 = buildManifestV2(input);
      const v3 = buildManifest(input);
      const where = `${path} ${record.recordId}`;
      expect(v2.sequences, where).toHaveLength(1);
      const canvases = v2.sequences[0]!.canvases;
      expect(canvases.map((c) => [c.width, c.height]), where).toEqual(v3.items.map((c) => [c.width, c.height]));
      expect(canvases.map((c) => c.images[0]!.resource.service['@id']), where).toEqual(v3.items.map((c) => (c.items[0]!.items[0]!.body.service[1] as ImageService2Ref)['@id']));
      expect(canvases.map((c) => [c.images[0]!.resource.width, c.images[0]!.resource.height]), where).toEqual(v3.items.map((c) => [c.items[0]!.items[0]!.body.width, c.items[0]!.items[0]!.body.height]));
      expect(v2.metadata.length, where).toBe(v3.metadata.length);
      expect(typeof v2.label === 'string' && v2.label.length > 0, where).toBe(true);
      expect(v2.license, where).toBe(v3.rights);
      expect(v2.navDate, where).toBe(v3.navDate);
      for (const id of ids(v2)) expect(new URL(id).protocol, `${where}: ${id}`).toMatch(/^https?:$/);
      count++;
    }
  }
  return count;
}

describe('every record builds a 2.1 manifest that agrees with its 3.0 manifest', () => {
  it('test/fixtures/datahub', () => {
    expect(sweep(FIXTURES)).toBe(11);
  });

  it.skipIf(!haveShared)(haveShared ? '/work/shared/fixtures/datahub' : `shared fixtures sweep skipped: ${SHARED} is absent`, () => {
    expect(sweep(SHARED)).toBeGreaterThan(300);
  });
});
