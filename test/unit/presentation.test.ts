import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ImageItem } from '../../functions/core/image-item.ts';
import { buildInfoJson2, buildInfoJson3, IMAGE2_LEVEL0 } from '../../functions/core/info-json.ts';
import { parseLidoDocument } from '../../functions/core/lido.ts';
import {
  annotationPageUrl,
  buildCollectionPage,
  buildInstitutionCollection,
  buildManifest,
  buildTopCollection,
  canvasUrl,
  collectionPages,
  collectionPageUrl,
  COLLECTION_PAGE_SIZE,
  creatorText,
  dateText,
  dimensionText,
  encodePathSegment,
  imageAnnotationUrlV2,
  imageService2Url,
  imageService3Url,
  institutionCollectionUrl,
  languageKey,
  manifestUrl,
  navDateFor,
  objectIdFor,
  paintingAnnotationUrl,
  parseObjectId,
  presentationRights,
  sequenceUrlV2,
  thumbnailFor,
  topCollectionUrl,
  type CollectionManifest,
  type ImageService2Ref,
  type ImageService3Ref,
  type Manifest,
  type ManifestInput,
  type MetadataEntry,
  type RelatedManifest,
} from '../../functions/core/presentation.ts';
import { cleanObjectNumber, emptyRecord, type MappedRecord } from '../../functions/core/record.ts';
import { decideRights } from '../../functions/core/rights.ts';
import { PRESENTATION3_SCHEMA_AVAILABLE, validatePresentation3 } from '../support/presentation-schema.ts';
import { DESTINATION_257, GET_RECORD, ORIGIN_1829A, ORIGIN_257_260, ORIGIN_GRO0208, makeImage, recordOf, DATAHUB_FIXTURES, SHARED_DATAHUB } from '../support/presentation-fixtures.ts';

const FIXTURES = DATAHUB_FIXTURES;
const SHARED = SHARED_DATAHUB;
const haveShared = existsSync(SHARED);
if (!haveShared) console.warn(`skipping the manifest sweep over the shared data-hub records: ${SHARED} is absent`);

const BASE = 'https://iiif.example.org';
const P3 = `${BASE}/iiif/presentation/3`;




function inputFor(record: MappedRecord, images?: ImageItem[], extra: Partial<ManifestInput> = {}): ManifestInput {
  const objectId = objectIdFor(record)!;
  return { baseUrl: BASE, objectId, record, images: images ?? [makeImage(objectId)], ...extra };
}

/** The metadata entry with this English label. */
function meta(manifest: Manifest, en: string): MetadataEntry | undefined {
  return manifest.metadata.find((m) => m.label.en?.[0] === en);
}

/** What a caller does with `record.relatedWorks`: each related record's object id, when it can have one. */
function resolveRelated(record: MappedRecord, labels: Record<string, string> = {}): RelatedManifest[] {
  return record.relatedWorks.flatMap((w) => {
    const objectId = w.recordId ? objectIdFor({ recordId: w.recordId, objectNumber: w.localId }) : undefined;
    if (!objectId) return [];
    const label = labels[objectId];
    return [{ relation: w.relation, objectId, ...(label ? { label: { nl: [label] } } : {}), ...(w.sortOrder !== undefined ? { sortOrder: w.sortOrder } : {}) }];
  });
}

function allXml(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? allXml(path) : name.endsWith('.xml') ? [path] : [];
  });
}

function services(manifest: Manifest, canvas = 0): [ImageService3Ref, ImageService2Ref] {
  const [s3, s2] = manifest.items[canvas]!.items[0]!.items[0]!.body.service;
  return [s3 as ImageService3Ref, s2 as ImageService2Ref];
}

// ---------------------------------------------------------------------------------------------------------------

describe('object ids', () => {
  it('are {institution}:{cleaned object number} for the reference records', () => {
    expect(objectIdFor(recordOf(ORIGIN_1829A))).toBe('mskgent.be:1829-A');
    expect(objectIdFor(recordOf(ORIGIN_GRO0208))).toBe('groeningemuseum.be:0000_GRO0208_I');
    expect(objectIdFor(recordOf(ORIGIN_257_260))).toBe('kmska.be:257-260');
  });

  it('take the institution from the work PID, else the data PID, else the record id, as record-keys does', () => {
    const base = { ...emptyRecord('oai:datahub.vlaamsekunstcollectie.be:kmska.be:5000'), objectNumber: '5000 (a)' };
    expect(objectIdFor(base)).toBe('kmska.be:5000_a');
    expect(objectIdFor({ ...base, dataPid: 'http://www.mskgent.be/collection/work/data/5000' })).toBe('mskgent.be:5000_a');
    expect(objectIdFor({ ...base, dataPid: 'http://mskgent.be/x', workPid: 'https://resolver.Groeningemuseum.be/id/5000' })).toBe('resolver.groeningemuseum.be:5000_a');
  });

  it('are absent without an object number or an institution: such records get no manifest', () => {
    expect(objectIdFor({ ...emptyRecord('oai:datahub.vlaamsekunstcollectie.be:kmska.be:7'), workPid: 'http://kmska.be/collection/work/id/7' })).toBeUndefined();
    expect(objectIdFor({ ...emptyRecord('530000092'), objectNumber: '1998-0007_4-4' })).toBeUndefined();
  });

  it('parse on the first colon and refuse what objectIdFor never makes', () => {
    expect(parseObjectId('mskgent.be:1829-A')).toEqual({ institution: 'mskgent.be', objectNumber: '1829-A' });
    expect(parseObjectId('a.be:b:c')).toEqual({ institution: 'a.be', objectNumber: 'b:c' });
    for (const bad of ['', 'mskgent.be', ':1829-A', 'mskgent.be:', 'mskgent.be:18/29', 'mskgent.be:18\u000029', 'mskgent.be:1829\n', 'mskgent.be:\uD800', `a:${'x'.repeat(299)}`]) {
      expect(parseObjectId(bad), JSON.stringify(bad)).toBeUndefined();
    }
    expect(parseObjectId(`a:${'x'.repeat(298)}`)).toBeDefined();
  });

  it('round-trip through parseObjectId and the manifest URL for any object number', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), fc.string({ minLength: 1, maxLength: 20, unit: fc.constantFrom('#', '%', '?', '/', ' ', '.', ':', '-', 'é', '\uD800', '\u0007', 'A', '1') })), (objectNumber) => {
        const record = { ...emptyRecord('r'), objectNumber, workPid: 'http://mskgent.be/collection/work/id/x' };
        const id = objectIdFor(record);
        const cleaned = cleanObjectNumber(objectNumber);
        if (!cleaned || /[\p{Cc}\p{Cs}]/u.test(cleaned)) return id === undefined;
        expect(id).toBe(`mskgent.be:${cleaned}`);
        expect(parseObjectId(id!)).toEqual({ institution: 'mskgent.be', objectNumber: cleaned });
        const segment = new URL(manifestUrl(BASE, 3, id!)).pathname.split('/')[4]!;
        expect(decodeURIComponent(segment)).toBe(id);
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

describe('URL layout', () => {
  const id = 'mskgent.be:1829-A';
  const image = 'mskgent.be:1829-A_2';

  it('puts every Presentation resource where the handlers serve it', () => {
    expect(manifestUrl(BASE, 3, id)).toBe(`${P3}/mskgent.be:1829-A/manifest.json`);
    expect(manifestUrl(`${BASE}/`, 2, id)).toBe(`${BASE}/iiif/presentation/2/mskgent.be:1829-A/manifest.json`);
    expect(canvasUrl(BASE, 3, id, image)).toBe(`${P3}/mskgent.be:1829-A/canvas/mskgent.be:1829-A_2`);
    expect(annotationPageUrl(BASE, id, image)).toBe(`${P3}/mskgent.be:1829-A/canvas/mskgent.be:1829-A_2/page`);
    expect(paintingAnnotationUrl(BASE, id, image)).toBe(`${P3}/mskgent.be:1829-A/canvas/mskgent.be:1829-A_2/page/image`);
    expect(sequenceUrlV2(BASE, id)).toBe(`${BASE}/iiif/presentation/2/mskgent.be:1829-A/sequence/normal`);
    expect(imageAnnotationUrlV2(BASE, id, image)).toBe(`${BASE}/iiif/presentation/2/mskgent.be:1829-A/canvas/mskgent.be:1829-A_2/image`);
    expect(topCollectionUrl(BASE, 3)).toBe(`${P3}/collection/top.json`);
    expect(institutionCollectionUrl(BASE, 2, 'mskgent.be')).toBe(`${BASE}/iiif/presentation/2/collection/mskgent.be.json`);
    expect(collectionPageUrl(BASE, 3, 'mskgent.be', id)).toBe(`${P3}/collection/mskgent.be/mskgent.be:1829-A.json`);
  });

  it('names image services by revision, as the info.json at that id does', () => {
    expect(imageService3Url(BASE, image, 'abc')).toBe(`${BASE}/iiif/3/mskgent.be:1829-A_2~abc`);
    expect(imageService2Url(`${BASE}/`, image, 'abc')).toBe(`${BASE}/iiif/2/mskgent.be:1829-A_2~abc`);
  });

  it('percent-encodes what cleaning leaves in object numbers, keeping ":" readable and no dot segments', () => {
    const cleaned = cleanObjectNumber('12#3 %b? é');
    expect(cleaned).toBe('12#3_%b_é');
    const odd = `mskgent.be:${cleaned}`;
    expect(manifestUrl(BASE, 3, odd)).toBe(`${P3}/mskgent.be:12%233_%25b_%C3%A9/manifest.json`);
    expect(encodePathSegment('..')).toBe('%2E%2E');
    expect(encodePathSegment('.')).toBe('%2E');
    const record = { ...recordOf(ORIGIN_1829A), objectNumber: '12#3 %b? é' };
    expect(objectIdFor(record)).toBe(odd);
    // Image identifiers are URL-safe by construction (identifier.ts): the ingest's name for this master.
    const manifest = buildManifest(inputFor(record, [makeImage('mskgent.be:12_3_b_e')]));
    expect(manifest.items[0]!.id).toBe(`${P3}/mskgent.be:12%233_%25b_%C3%A9/canvas/mskgent.be:12_3_b_e`);
    expect(validatePresentation3(manifest)).toEqual([]);
  });
});

describe('Presentation 3 manifest: MSK Gent 1829-A (one image)', () => {
  const record = recordOf(ORIGIN_1829A);
  const image = makeImage('mskgent.be:1829-A', 6000, 4000, 'r1');
  const rights = decideRights({ ...record, rights: { ...record.rights, creditLine: 'Publiek domein' } }, undefined);
  const manifest = buildManifest(inputFor(record, [image], { rights, seeAlso: { getRecordUrl: `${GET_RECORD}${record.recordId}` } }));

  it('validates against the Presentation 3 schema', () => {
    expect(validatePresentation3(manifest)).toEqual([]);
  });

  it('is the object manifest, labelled with its titles', () => {
    expect(manifest['@context']).toBe('http://iiif.io/api/presentation/3/context.json');
    expect(manifest.id).toBe(`${P3}/mskgent.be:1829-A/manifest.json`);
    expect(manifest.type).toBe('Manifest');
    expect(manifest.label).toEqual({ nl: ['De nimf Salmacis en Hermaphroditus'] });
    expect(manifest.summary?.nl?.[0]).toMatch(/^Het verhaal van Salmacis en Hermaphroditus/);
  });

  it('describes the object in en/nl-labelled metadata, values in their own language or none', () => {
    for (const m of manifest.metadata) expect(Object.keys(m.label)).toEqual(['en', 'nl']);
    expect(manifest.metadata.map((m) => m.label.en![0])).toEqual([
      'Title', 'Creator', 'Date', 'Period', 'Object number', 'Object type', 'Materials', 'Dimensions', 'Subject', 'Institution',
    ]);
    expect(meta(manifest, 'Title')).toEqual({
      label: { en: ['Title'], nl: ['Titel'] },
      value: { nl: ['De nimf Salmacis en Hermaphroditus'], none: ['La Nymphe Salmacis et Hermaphrodite', 'The Nymph Salmacis and Hermaphrodite', 'Die Nymphe Salmakis und Hermaphroditos'] },
    });
    expect(meta(manifest, 'Creator')?.value).toEqual({ none: ['Navez, François-Joseph (1787–1869)'] });
    expect(meta(manifest, 'Date')?.value).toEqual({ none: ['1829'] });
    expect(meta(manifest, 'Period')?.value).toEqual({ nl: ['19de eeuw'] });
    expect(meta(manifest, 'Object number')).toEqual({ label: { en: ['Object number'], nl: ['Objectnummer'] }, value: { none: ['1829-A'] } });
    expect(meta(manifest, 'Object type')?.value).toEqual({ nl: ['olieverfschilderij', 'schilderingen'] });
    expect(meta(manifest, 'Materials')?.value).toEqual({ none: ['olieverf op doek'] });
    expect(meta(manifest, 'Dimensions')?.value).toEqual({
      none: ['hoogte 194 cm (geheel)', 'breedte 148 cm (geheel)', 'hoogte 226.5 cm (lijst)', 'breedte 180 cm (lijst)', 'diepte 14.5 cm (lijst)'],
    });
    expect(meta(manifest, 'Subject')?.value).toEqual({ nl: ['mythologie', 'water', 'Salmacis', 'Hermaphroditus'] });
    expect(meta(manifest, 'Institution')).toEqual({ label: { en: ['Institution'], nl: ['Instelling'] }, value: { nl: ['Museum voor Schone Kunsten Gent'] } });
  });

  it('states attribution, rights, provider, homepage and the LIDO record', () => {
    expect(manifest.requiredStatement).toEqual({ label: { en: ['Attribution'], nl: ['Naamsvermelding'] }, value: { none: ['Museum voor Schone Kunsten Gent'] } });
    expect(rights.uri).toBe('http://creativecommons.org/publicdomain/mark/1.0/');
    expect(manifest.rights).toBe('http://creativecommons.org/publicdomain/mark/1.0/');
    expect(manifest.provider).toEqual([
      {
        id: 'http://mskgent.be',
        type: 'Agent',
        label: { nl: ['Museum voor Schone Kunsten Gent'] },
        homepage: [{ id: 'http://mskgent.be', type: 'Text', label: { nl: ['Museum voor Schone Kunsten Gent'] }, format: 'text/html' }],
      },
    ]);
    expect(manifest.homepage).toEqual([{ id: 'http://mskgent.be/collection/work/id/1829-A', type: 'Text', label: { nl: ['De nimf Salmacis en Hermaphroditus'] }, format: 'text/html' }]);
    expect(manifest.seeAlso).toEqual([
      {
        id: `${GET_RECORD}oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A`,
        type: 'Dataset',
        label: { en: ['Object Description in XML'], nl: ['Objectbeschrijving in XML'] },
        format: 'text/xml',
        profile: 'http://www.lido-schema.org',
      },
    ]);
    expect(manifest.seeAlso![0]!.label.en).toEqual(['Object Description in XML']);
  });

  it('dates the object for navigation and files it under its institution', () => {
    expect(manifest.navDate).toBe('1829-01-01T00:00:00Z');
    expect(manifest.partOf).toEqual([{ id: `${P3}/collection/mskgent.be.json`, type: 'Collection', label: { nl: ['Museum voor Schone Kunsten Gent'] } }]);
    expect(manifest).not.toHaveProperty('behavior');
    expect(manifest).not.toHaveProperty('start');
  });

  it('paints one canvas at the real size with full/max at the size max really is', () => {
    const published = image.published!;
    expect(published.maxSize).toEqual({ width: 5016, height: 3344 });
    const [canvas] = manifest.items;
    const service3 = `${BASE}/iiif/3/mskgent.be:1829-A~r1`;
    expect(canvas).toEqual({
      id: `${P3}/mskgent.be:1829-A/canvas/mskgent.be:1829-A`,
      type: 'Canvas',
      label: { none: ['1'] },
      width: 6000,
      height: 4000,
      thumbnail: manifest.thumbnail,
      items: [
        {
          id: `${P3}/mskgent.be:1829-A/canvas/mskgent.be:1829-A/page`,
          type: 'AnnotationPage',
          items: [
            {
              id: `${P3}/mskgent.be:1829-A/canvas/mskgent.be:1829-A/page/image`,
              type: 'Annotation',
              motivation: 'painting',
              target: `${P3}/mskgent.be:1829-A/canvas/mskgent.be:1829-A`,
              body: {
                id: `${service3}/full/max/0/default.jpg`,
                type: 'Image',
                format: 'image/jpeg',
                width: 5016,
                height: 3344,
                service: [
                  { id: service3, type: 'ImageService3', profile: 'level2', sizes: published.sizes },
                  { '@id': `${BASE}/iiif/2/mskgent.be:1829-A~r1`, '@type': 'ImageService2', profile: 'http://iiif.io/api/image/2/level2.json', sizes: published.sizes },
                ],
              },
            },
          ],
        },
      ],
    });
  });

  it('names the same service ids the info.json documents state', () => {
    const [s3, s2] = services(manifest);
    const published = image.published!;
    expect(s3.id.endsWith(`~${published.revision}`)).toBe(true);
    expect(s2['@id'].endsWith(`~${published.revision}`)).toBe(true);
    expect(buildInfoJson3(s3.id, published).id).toBe(s3.id);
    expect(buildInfoJson2(s2['@id'], published)['@id']).toBe(s2['@id']);
    expect(s3.sizes).toEqual(buildInfoJson3(s3.id, published).sizes);
  });

  it('uses the smallest stored size of at least 400 px as thumbnail, with its service', () => {
    const published = image.published!;
    const [thumbnail] = manifest.thumbnail;
    const size = { width: thumbnail!.width, height: thumbnail!.height };
    expect(published.sizes).toContainEqual(size);
    expect(Math.max(size.width, size.height)).toBeGreaterThanOrEqual(400);
    const smaller = published.sizes.filter((s) => s.width * s.height < size.width * size.height);
    for (const s of smaller) expect(Math.max(s.width, s.height)).toBeLessThan(400);
    expect(thumbnail).toEqual({
      id: `${BASE}/iiif/3/mskgent.be:1829-A~r1/full/${size.width},${size.height}/0/default.jpg`,
      type: 'Image',
      format: 'image/jpeg',
      width: size.width,
      height: size.height,
      service: [{ id: `${BASE}/iiif/3/mskgent.be:1829-A~r1`, type: 'ImageService3', profile: 'level2' }],
    });
  });
});

describe('Presentation 3 manifest: Groeninge 0000.GRO0208.I (several images)', () => {
  const record = recordOf(ORIGIN_GRO0208);
  const objectId = 'groeningemuseum.be:0000_GRO0208_I';
  const images = [makeImage(objectId, 4000, 3000, 'a'), makeImage(`${objectId}_verso`, 3000, 4000, 'b'), makeImage(`${objectId}_detail`, 300, 200, 'c')];
  const manifest = buildManifest(inputFor(record, images));

  it('validates', () => {
    expect(validatePresentation3(manifest)).toEqual([]);
  });

  it('keeps the given canvas order, numbers the canvases and keys their ids by image', () => {
    expect(manifest.items.map((c) => c.id)).toEqual(images.map((i) => canvasUrl(BASE, 3, objectId, i.identifier)));
    expect(manifest.items.map((c) => c.label)).toEqual([{ none: ['1'] }, { none: ['2'] }, { none: ['3'] }]);
    expect(manifest.items.map((c) => [c.width, c.height])).toEqual([[4000, 3000], [3000, 4000], [300, 200]]);
    expect(manifest.items.map((_, i) => services(manifest, i)[0].id)).toEqual([
      `${BASE}/iiif/3/${objectId}~a`,
      `${BASE}/iiif/3/${objectId}_verso~b`,
      `${BASE}/iiif/3/${objectId}_detail~c`,
    ]);
  });

  it('keeps existing canvas ids when an image is added in front', () => {
    const more = buildManifest(inputFor(record, [makeImage(`${objectId}_new`), ...images]));
    expect(more.items.slice(1).map((c) => c.id)).toEqual(manifest.items.map((c) => c.id));
  });

  it('shows the views as individuals and the first as the manifest thumbnail', () => {
    expect(manifest.behavior).toEqual(['individuals']);
    expect(manifest.thumbnail).toEqual(manifest.items[0]!.thumbnail);
    // A small image has no size of 400 px: its largest stored size.
    expect(manifest.items[2]!.thumbnail[0]).toMatchObject({ width: 300, height: 200, id: `${BASE}/iiif/3/${objectId}_detail~c/full/300,200/0/default.jpg` });
  });

  it('writes the circa date, both periods, the cleaned id and the number as written', () => {
    expect(meta(manifest, 'Creator')?.value).toEqual({ none: ['Bosch, Jheronimus (1450–1516)'] });
    expect(meta(manifest, 'Date')?.value).toEqual({ none: ['circa 1500'] });
    expect(meta(manifest, 'Period')?.value).toEqual({ nl: ['15de eeuw', '16de eeuw'] });
    expect(meta(manifest, 'Object number')?.value).toEqual({ none: ['0000.GRO0208.I'] });
    expect(manifest.id).toBe(`${P3}/groeningemuseum.be:0000_GRO0208_I/manifest.json`);
    expect(manifest.navDate).toBe('1500-01-01T00:00:00Z');
    expect(manifest.homepage?.[0]?.id).toBe('http://groeningemuseum.be/collection/work/id/0000_GRO0208_I');
  });
});

describe('Presentation 3 manifest: KMSKA polyptych and panel (related works)', () => {
  const whole = recordOf(ORIGIN_257_260);
  const panel = recordOf(DESTINATION_257);

  it('KMSKA 257-260: role, display measurements, institution from the record source, no date to navigate by', () => {
    const manifest = buildManifest(inputFor(whole));
    expect(validatePresentation3(manifest)).toEqual([]);
    expect(meta(manifest, 'Creator')?.value).toEqual({ none: ['Simone Martini, schilder (1284–1344)'] });
    expect(meta(manifest, 'Dimensions')?.value).toEqual({ none: ['29,5 × 82,1 × 2 cm'] });
    expect(meta(manifest, 'Object type')?.value).toEqual({ nl: ['drieluik[zijluik]', 'schilderij'] });
    expect(meta(manifest, 'Institution')?.value).toEqual({ nl: ['Koninklijk Museum voor Schone Kunsten Antwerpen'] });
    expect(meta(manifest, 'Date')).toBeUndefined();
    expect(manifest).not.toHaveProperty('navDate');
    expect(manifest).not.toHaveProperty('rights');
  });

  it('the panel (DESTINATION 257): nl and en summary, its image rights, the whole as a containing Manifest', () => {
    const related = resolveRelated(panel, { 'kmska.be:257-260': 'Orsini Polyptiek' });
    expect(related).toEqual([
      { relation: 'hasPart', objectId: 'kmska.be:257-260', label: { nl: ['Orsini Polyptiek'] } },
      { relation: 'isPartOf', objectId: 'kmska.be:257-260', label: { nl: ['Orsini Polyptiek'] } },
    ]);
    const manifest = buildManifest(inputFor(panel, undefined, { related, rights: decideRights(panel, undefined) }));
    expect(validatePresentation3(manifest)).toEqual([]);
    expect(Object.keys(manifest.summary!)).toEqual(['nl', 'en']);
    expect(meta(manifest, 'Period')?.value).toEqual({ nl: ['14de eeuw'], en: ['14th century'] });
    expect(manifest.rights).toBe('http://creativecommons.org/publicdomain/zero/1.0/');
    expect(manifest.partOf).toEqual([
      { id: `${P3}/collection/kmska.be.json`, type: 'Collection', label: { nl: ['Koninklijk Museum voor Schone Kunsten Antwerpen'] } },
      { id: `${P3}/kmska.be:257-260/manifest.json`, type: 'Manifest', label: { nl: ['Orsini Polyptiek'] } },
    ]);
    // The record's contradiction (both hasPart and isPartOf) is shown as it is, not resolved here.
    expect(meta(manifest, 'Related work')).toEqual({
      label: { en: ['Related work'], nl: ['Verwant werk'] },
      value: { en: ['has part: Orsini Polyptiek', 'is part of: Orsini Polyptiek'], nl: ['heeft als deel: Orsini Polyptiek', 'is deel van: Orsini Polyptiek'] },
    });
    // Canvases are never copied from related manifests.
    expect(manifest.items).toHaveLength(1);
  });

  it('the whole lists its parts in sort order, links none of them structurally, and drops self, duplicates and junk', () => {
    const related: RelatedManifest[] = [
      { relation: 'hasPart', objectId: 'kmska.be:260', sortOrder: 4 },
      { relation: 'hasPart', objectId: 'kmska.be:257', label: { nl: ['Annunciatie'], en: ['Annunciation'] }, sortOrder: 1 },
      { relation: 'hasPart', objectId: 'kmska.be:257', sortOrder: 1 },
      { relation: 'relatedTo', objectId: 'kmska.be:5000', label: { en: ['The Scheldt'] } },
      { relation: 'seeAlsoWork', objectId: 'kmska.be:5001', label: { nl: ['Studie'] } },
      { relation: 'hasPart', objectId: 'kmska.be:257-260' },
      { relation: 'hasPart', objectId: 'not an id' },
    ];
    const manifest = buildManifest(inputFor(whole, undefined, { related }));
    expect(validatePresentation3(manifest)).toEqual([]);
    expect(manifest.partOf.map((p) => p.type)).toEqual(['Collection']);
    expect(meta(manifest, 'Related work')?.value).toEqual({
      en: ['has part: Annunciation', 'has part: 260', 'related to: The Scheldt', 'seeAlsoWork: Studie'],
      nl: ['heeft als deel: Annunciatie', 'heeft als deel: 260', 'verwant aan: The Scheldt', 'seeAlsoWork: Studie'],
    });
  });
});

describe('Presentation 3 manifest: edge cases', () => {
  /** A minimal record of the 2021–22 profile, varied per test. */
  function minimal(changes: Partial<MappedRecord> = {}): MappedRecord {
    return {
      ...emptyRecord('oai:datahub.kmska.be:kmska.be:5000'),
      objectNumber: '5000',
      workPid: 'https://kmska.be/collection/work/id/5000',
      institution: { name: 'KMSKA', label: { nl: ['KMSKA'] }, weblink: 'https://kmska.be' },
      ...changes,
    };
  }
  const build = (record: MappedRecord, extra: Partial<ManifestInput> = {}) => {
    const manifest = buildManifest({ baseUrl: BASE, objectId: 'kmska.be:5000', record, images: [makeImage('kmska.be:5000')], ...extra });
    expect(validatePresentation3(manifest)).toEqual([]);
    return manifest;
  };

  it('labels every title language with its first title, or the object number when there is none', () => {
    expect(build(minimal({ titles: { nl: ['De zieke', 'Zieke vrouw'], en: ['The sick'] } })).label).toEqual({ nl: ['De zieke'], en: ['The sick'] });
    const untitled = build(minimal({ objectNumber: '5000 (a)' }));
    expect(untitled.label).toEqual({ none: ['5000 (a)'] });
    expect(meta(untitled, 'Title')).toBeUndefined();
    expect(untitled).not.toHaveProperty('summary');
  });

  it('makes language tags into keys the schema accepts', () => {
    const manifest = build(minimal({ titles: { nl_BE: ['Titel'], 'es-419': ['Título'], '1': ['x'] }, descriptions: { 'de-DE': ['Beschreibung'] } }));
    expect(manifest.label).toEqual({ 'nl-BE': ['Titel'], es: ['Título'], none: ['x'] });
    expect(manifest.summary).toEqual({ 'de-DE': ['Beschreibung'] });
    expect(['nl', 'nl-NL', 'x_y', '', 'sr-Latn-RS', '123'].map(languageKey)).toEqual(['nl', 'nl-NL', 'x-y', 'none', 'sr-Latn-RS', 'none']);
  });

  it('states no rights it was not given, and only IIIF-admissible ones in canonical form', () => {
    const none = build(minimal());
    expect(none).not.toHaveProperty('rights');
    expect(build(minimal(), { rights: { source: 'none', reasoning: 'nothing' } })).not.toHaveProperty('rights');
    expect(build(minimal(), { rights: { uri: 'http://rightsstatements.org/vocab/InC/1.0/', source: 'credit-line', reasoning: '' } }).rights).toBe('http://rightsstatements.org/vocab/InC/1.0/');
    expect(presentationRights('https://creativecommons.org/licenses/by-sa/4.0/')).toBe('http://creativecommons.org/licenses/by-sa/4.0/');
    expect(presentationRights('https://rightsstatements.org/page/InC-EDU/1.0/?language=nl')).toBe('http://rightsstatements.org/vocab/InC-EDU/1.0/');
    expect(presentationRights('https://example.org/licence')).toBeUndefined();
    expect(presentationRights('https://rightsstatements.org/vocab/MADE-UP/1.0/')).toBeUndefined();
  });

  it('joins credit line and institution in the attribution, once when they say the same, and omits it with neither', () => {
    expect(build(minimal({ rights: { creditLine: 'CC0', statements: [], metadata: [] } })).requiredStatement?.value).toEqual({ none: ['CC0 — KMSKA'] });
    const same = build(minimal({ rights: { creditLine: 'kmska', statements: [], metadata: [] } }));
    expect(same.requiredStatement?.value).toEqual({ none: ['kmska'] });
    expect(meta(same, 'Credit line')?.value).toEqual({ none: ['kmska'] });
    const anonymous = build(minimal({ institution: undefined }));
    expect(anonymous).not.toHaveProperty('requiredStatement');
    expect(anonymous).not.toHaveProperty('provider');
    expect(anonymous.partOf).toEqual([{ id: `${P3}/collection/kmska.be.json`, type: 'Collection', label: { none: ['kmska.be'] } }]);
  });

  it('identifies a provider without a web site by its collection here, without a homepage', () => {
    const manifest = build(minimal({ institution: { name: 'KMSKA', label: {} } }));
    expect(manifest.provider).toEqual([{ id: `${P3}/collection/kmska.be.json`, type: 'Agent', label: { none: ['KMSKA'] } }]);
  });

  it('links the work PID, else the data PID, percent-encoded; nothing without either', () => {
    expect(build(minimal({ workPid: undefined, dataPid: 'http://kmska.be/collection/work/data/5000' })).homepage?.[0]?.id).toBe('http://kmska.be/collection/work/data/5000');
    expect(build(minimal({ workPid: 'https://kmska.be/collection/work/id/5000 bis/é' })).homepage?.[0]?.id).toBe('https://kmska.be/collection/work/id/5000%20bis/%C3%A9');
    expect(build(minimal({ workPid: undefined }))).not.toHaveProperty('homepage');
    expect(build(minimal())).not.toHaveProperty('seeAlso');
  });

  it('navigates only by real dates of years 1–9999', () => {
    const cases: [string | undefined, string | undefined, string | undefined][] = [
      ['1829', undefined, '1829-01-01T00:00:00Z'],
      ['1829-04', '1830', '1829-04-01T00:00:00Z'],
      ['2000-02-29', undefined, '2000-02-29T00:00:00Z'],
      ['0001', undefined, '0001-01-01T00:00:00Z'],
      ['0050-06-15', undefined, '0050-06-15T00:00:00Z'],
      ['1900-02-29', undefined, undefined],
      ['1829-13', undefined, undefined],
      ['1829-04-31', undefined, undefined],
      ['-0050', undefined, undefined],
      ['0000', undefined, undefined],
      ['99999', undefined, undefined],
      ['15de eeuw', '1499', '1499-01-01T00:00:00Z'],
      ['1829-4', undefined, undefined],
      [undefined, undefined, undefined],
    ];
    for (const [earliest, latest, expected] of cases) {
      expect(navDateFor({ ...(earliest ? { earliest } : {}), ...(latest ? { latest } : {}) }), `${earliest} ${latest}`).toBe(expected);
    }
    expect(build(minimal({ dates: { earliest: '-0050' } }))).not.toHaveProperty('navDate');
    expect(build(minimal({ dates: { earliest: '0050-06-15' } })).navDate).toBe('0050-06-15T00:00:00Z');
  });

  it('writes creators, dates and dimensions in one clean format', () => {
    const creator = { name: 'Navez, François-Joseph', altNames: [], uris: [] };
    expect(creatorText({ ...creator, attributionQualifier: 'toegeschreven aan', role: 'schilder', birth: '1787-11-16', death: '1869-10-12' })).toBe(
      'toegeschreven aan Navez, François-Joseph, schilder (1787–1869)',
    );
    expect(creatorText({ ...creator, birth: '1787' })).toBe('Navez, François-Joseph (1787–)');
    expect(creatorText({ ...creator, death: '-0043' })).toBe('Navez, François-Joseph (–-43)');
    expect(creatorText(creator)).toBe('Navez, François-Joseph');
    expect(dateText({ earliest: '1500', latest: '1510' })).toBe('1500–1510');
    expect(dateText({ earliest: '1500', latest: '1500' })).toBe('1500');
    expect(dateText({ latest: '1510' })).toBe('1510');
    expect(dateText({})).toBeUndefined();
    expect(dimensionText({ type: 'hoogte', value: 52.5, unit: 'cm' })).toBe('hoogte 52.5 cm');
    expect(dimensionText({ value: 0.1 + 0.2, unit: 'm', extent: 'lijst' })).toBe('0.3 m (lijst)');
    const manifest = build(minimal({ materials: [{ label: { nl: ['olieverf'] }, uris: [] }], techniques: [{ label: { en: ['painting'] }, uris: [] }], subjects: [{ label: {}, uris: [], kind: 'concept', iconclass: '92 H 39 1' }] }));
    expect(meta(manifest, 'Materials')?.value).toEqual({ nl: ['olieverf'], en: ['painting'] });
    expect(meta(manifest, 'Subject')?.value).toEqual({ none: ['92 H 39 1'] });
  });

  it('refuses to build a manifest without canvases, with an unpublished image, or for a malformed object id', () => {
    expect(() => buildManifest({ baseUrl: BASE, objectId: 'kmska.be:5000', record: minimal(), images: [] })).toThrow(/no published images.*at least one Canvas/);
    const processing: ImageItem = { ...makeImage('kmska.be:5000'), status: 'processing', published: undefined };
    expect(() => buildManifest({ baseUrl: BASE, objectId: 'kmska.be:5000', record: minimal(), images: [processing] })).toThrow(/kmska.be:5000 has no published pyramid \(status processing\)/);
    expect(() => buildManifest({ baseUrl: BASE, objectId: 'kmska.be/5000', record: minimal(), images: [makeImage('x')] })).toThrow(/not an object id/);
  });

  it('picks thumbnails among stored sizes: the smallest of 400 px, else the largest, else max', () => {
    const at = (sizes: { width: number; height: number }[]) =>
      thumbnailFor(BASE, { identifier: 'a:b', published: { revision: 'r', sizes, maxSize: { width: 90, height: 60 } } });
    expect(at([{ width: 200, height: 400 }, { width: 100, height: 200 }, { width: 400, height: 800 }])).toMatchObject({ width: 200, height: 400, id: `${BASE}/iiif/3/a:b~r/full/200,400/0/default.jpg` });
    expect(at([{ width: 300, height: 200 }, { width: 150, height: 100 }])).toMatchObject({ width: 300, height: 200 });
    expect(at([])).toMatchObject({ width: 90, height: 60, id: `${BASE}/iiif/3/a:b~r/full/max/0/default.jpg` });
  });

  it('states the level-0 profiles when the services are static files alone', () => {
    const manifest = build(minimal(), { capabilities: { level: 0, upscaling: false } });
    const [s3, s2] = services(manifest);
    expect([s3.profile, s2.profile, manifest.thumbnail[0]!.service[0]!.profile]).toEqual(['level0', IMAGE2_LEVEL0, 'level0']);
  });

  it.skipIf(!PRESENTATION3_SCHEMA_AVAILABLE)('the schema helper is able to fail: https Creative Commons, a missing canvas list, an unknown property', () => {
    const manifest = build(minimal());
    expect(validatePresentation3({ ...manifest, rights: 'https://creativecommons.org/publicdomain/zero/1.0/' })).not.toEqual([]);
    const { items: _items, ...withoutItems } = manifest;
    expect(validatePresentation3(withoutItems)).not.toEqual([]);
    expect(validatePresentation3({ ...manifest, viewingHint: 'individuals' })).not.toEqual([]);
    expect(validatePresentation3({ ...manifest, label: { 'es-419': ['x'] } })).not.toEqual([]);
  });
});

describe('Presentation 3 collections', () => {
  const institution = { key: 'mskgent.be', label: { nl: ['Museum voor Schone Kunsten Gent'], en: ['Museum of Fine Arts Ghent'] } };
  const entry = (n: number, withThumbnail = false): CollectionManifest => {
    const objectId = `mskgent.be:${1000 + n}-A`;
    return { objectId, label: { nl: [`Werk ${n}`] }, ...(withThumbnail ? { thumbnail: { identifier: objectId, published: makeImage(objectId).published! } } : {}) };
  };

  it('top: one Collection per institution, with counts, never a manifest; empty is valid', () => {
    const top = buildTopCollection({ baseUrl: BASE, institutions: [{ ...institution, count: 7064 }, { key: 'kmska.be', label: {}, count: 1 }] });
    expect(validatePresentation3(top)).toEqual([]);
    expect(top).toEqual({
      '@context': 'http://iiif.io/api/presentation/3/context.json',
      id: `${P3}/collection/top.json`,
      type: 'Collection',
      label: { en: ['Collections'], nl: ['Collecties'] },
      items: [
        { id: `${P3}/collection/mskgent.be.json`, type: 'Collection', label: institution.label, summary: { en: ['7064 objects'], nl: ['7064 objecten'] } },
        { id: `${P3}/collection/kmska.be.json`, type: 'Collection', label: { none: ['kmska.be'] }, summary: { en: ['1 object'], nl: ['1 object'] } },
      ],
    });
    const empty = buildTopCollection({ baseUrl: BASE, institutions: [], label: { en: ['Imagehub'] } });
    expect(empty).toMatchObject({ label: { en: ['Imagehub'] }, items: [] });
    expect(validatePresentation3(empty)).toEqual([]);
  });

  it('institution, flat: manifest references with thumbnails, part of the top; empty is valid', () => {
    const collection = buildInstitutionCollection({ baseUrl: BASE, institution, manifests: [entry(1, true), entry(2), { objectId: 'mskgent.be:3-A', label: {} }] });
    expect(validatePresentation3(collection)).toEqual([]);
    expect(collection.id).toBe(`${P3}/collection/mskgent.be.json`);
    expect(collection.label).toEqual(institution.label);
    expect(collection.partOf).toEqual([{ id: `${P3}/collection/top.json`, type: 'Collection', label: { en: ['Collections'], nl: ['Collecties'] } }]);
    expect(collection.items.map((i) => [i.id, i.type, i.label])).toEqual([
      [`${P3}/mskgent.be:1001-A/manifest.json`, 'Manifest', { nl: ['Werk 1'] }],
      [`${P3}/mskgent.be:1002-A/manifest.json`, 'Manifest', { nl: ['Werk 2'] }],
      [`${P3}/mskgent.be:3-A/manifest.json`, 'Manifest', { none: ['3-A'] }],
    ]);
    expect(collection.items[0]!.thumbnail?.[0]?.id).toMatch(/^https:\/\/iiif\.example\.org\/iiif\/3\/mskgent\.be:1001-A~r1\/full\/\d+,\d+\/0\/default\.jpg$/);
    expect(collection.items[1]).not.toHaveProperty('thumbnail');
    const empty = buildInstitutionCollection({ baseUrl: BASE, institution, manifests: [] });
    expect(empty.items).toEqual([]);
    expect(validatePresentation3(empty)).toEqual([]);
  });

  it('institution, paged: pages of 500 named after their objects, each a collection part of the institution', () => {
    const manifests = Array.from({ length: 1203 }, (_, i) => entry(i));
    const pages = collectionPages(manifests);
    expect(COLLECTION_PAGE_SIZE).toBe(500);
    expect(pages.map((p) => [p.firstObjectId, p.manifests.length, p.label])).toEqual([
      ['mskgent.be:1000-A', 500, { none: ['1000-A – 1499-A'] }],
      ['mskgent.be:1500-A', 500, { none: ['1500-A – 1999-A'] }],
      ['mskgent.be:2000-A', 203, { none: ['2000-A – 2202-A'] }],
    ]);
    expect(collectionPages(manifests.slice(0, 1))[0]!.label).toEqual({ none: ['1000-A'] });
    expect(collectionPages([])).toEqual([]);
    expect(() => collectionPages(manifests, 0)).toThrow(RangeError);

    const collection = buildInstitutionCollection({ baseUrl: BASE, institution, manifests, pages: [...pages, { firstObjectId: 'mskgent.be:9999' }] });
    expect(validatePresentation3(collection)).toEqual([]);
    expect(collection.items).toEqual([
      { id: `${P3}/collection/mskgent.be/mskgent.be:1000-A.json`, type: 'Collection', label: { none: ['1000-A – 1499-A'] } },
      { id: `${P3}/collection/mskgent.be/mskgent.be:1500-A.json`, type: 'Collection', label: { none: ['1500-A – 1999-A'] } },
      { id: `${P3}/collection/mskgent.be/mskgent.be:2000-A.json`, type: 'Collection', label: { none: ['2000-A – 2202-A'] } },
      { id: `${P3}/collection/mskgent.be/mskgent.be:9999.json`, type: 'Collection', label: { en: ['from 9999'], nl: ['vanaf 9999'] } },
    ]);

    const page = buildCollectionPage({ baseUrl: BASE, institution, ...pages[2]! });
    expect(validatePresentation3(page)).toEqual([]);
    expect(page.id).toBe(`${P3}/collection/mskgent.be/mskgent.be:2000-A.json`);
    expect(page.label).toEqual({ none: ['2000-A – 2202-A'] });
    expect(page.partOf).toEqual([{ id: `${P3}/collection/mskgent.be.json`, type: 'Collection', label: institution.label }]);
    expect(page.items).toHaveLength(203);
    expect(page.items.every((i) => i.type === 'Manifest')).toBe(true);
    expect(validatePresentation3(buildCollectionPage({ baseUrl: BASE, institution, firstObjectId: 'mskgent.be:1', manifests: [] }))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Every real record

function sweep(dir: string): { withId: number; synthetic: number } {
  let withId = 0;
  let synthetic = 0;
  for (const path of allXml(dir)) {
    for (const { record } of parseLidoDocument(readFileSync(path, 'utf8')).records) {
      if (record.deleted) continue;
      // Records without an object id get no manifest in production; they are still built here under a made-up id,
      // because their messy data (empty names, odd languages) is what the builder has to survive.
      const real = objectIdFor(record);
      const objectId = real ?? `test.example:record-${synthetic}`;
      if (real) withId++;
      else synthetic++;
      const one = buildManifest({ baseUrl: BASE, objectId, record, images: [makeImage('test:one')], seeAlso: { getRecordUrl: `${GET_RECORD}${record.recordId}` } });
      const three = buildManifest({
        baseUrl: BASE,
        objectId,
        record,
        images: [makeImage('test:a', 1000, 1500), makeImage('test:b', 200, 100), makeImage('test:c', 30_000, 2_000)],
        rights: decideRights(record, undefined),
        related: resolveRelated(record),
      });
      for (const manifest of [one, three]) {
        const errors = validatePresentation3(manifest);
        expect(errors, `${path} ${record.recordId}: ${errors.slice(0, 3).join('; ')}`).toEqual([]);
      }
      expect(three.items).toHaveLength(3);
    }
  }
  return { withId, synthetic };
}

describe('every record in this repository builds a valid manifest', () => {
  it('test/fixtures/datahub', () => {
    // 4 ORIGIN + 1 DESTINATION records, and the 6 records in the OAI-PMH envelopes.
    expect(sweep(FIXTURES)).toEqual({ withId: 11, synthetic: 0 });
  });
});

describe.skipIf(!haveShared)(haveShared ? 'every record of the shared fixtures builds a valid manifest' : `shared fixtures sweep skipped: ${SHARED} is absent`, () => {
  it('/work/shared/fixtures/datahub', () => {
    const counts = sweep(SHARED);
    expect(counts.withId).toBeGreaterThanOrEqual(12);
    // Design Museum Gent, cIMeC, official LIDO examples: no PIDs, so no object id.
    expect(counts.synthetic).toBeGreaterThan(300);
  });
});
