import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mapLidoRecord, parseLidoDocument, parseMeasurement, xmlTrees, type LidoEntry } from '../../functions/core/lido.ts';
import { parseOaiResponse } from '../../functions/core/oai-pmh.ts';
import { cleanObjectNumber, type MappedRecord } from '../../functions/core/record.ts';
import { parseCsv } from '../../functions/core/rights.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = resolve(HERE, '../fixtures/datahub');
const SHARED = resolve(HERE, '../../../shared/fixtures/datahub');
const haveShared = existsSync(SHARED);
if (!haveShared) console.warn(`skipping the sweeps over all data-hub records: ${SHARED} is absent`);

const fixture = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');
const IMAGEHUB = 'vkc-imagehub-fixes';
const ORIGIN_1829A = `${IMAGEHUB}/1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml`;
const ORIGIN_GRO0208 = `${IMAGEHUB}/1LidoMulImage__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_groeningemuseum.be_0000_GRO0208_I.xml`;
const ORIGIN_257_260 = `${IMAGEHUB}/MulLido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257-260.xml`;
const ORIGIN_257 = `${IMAGEHUB}/MulLido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257.xml`;
const DESTINATION_257 = `${IMAGEHUB}/MulLido1Image__DESTINATION-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257.xml`;
const DESTINATION_1829A = `${IMAGEHUB}/1Lido1Image__DESTINATION-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml`;

/** The one record a single-record document must yield. */
function only(xml: string): MappedRecord {
  const result = parseLidoDocument(xml);
  expect(result.skipped).toEqual([]);
  expect(result.records).toHaveLength(1);
  return result.records[0]!.record;
}

/** Every string anywhere in a value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

function allXml(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? allXml(path) : name.endsWith('.xml') ? [path] : [];
  });
}

describe('the 2019 VKC Datahub records (Imagehub-Fixes ORIGIN)', () => {
  it('maps MSK Gent 1829-A field by field', () => {
    const record = only(fixture(ORIGIN_1829A));
    expect(record).toMatchObject({
      recordId: 'oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A',
      dataPid: 'http://mskgent.be/collection/work/data/1829-A',
      workPid: 'http://mskgent.be/collection/work/id/1829-A',
      localRecordId: '310006351',
      objectNumber: '1829-A',
      objectNumberNormalised: '1829-A',
      institution: { name: 'Museum voor Schone Kunsten Gent', label: { nl: ['Museum voor Schone Kunsten Gent'] }, weblink: 'http://mskgent.be' },
      titles: { nl: ['De nimf Salmacis en Hermaphroditus'] },
      // 2019 records give the translations as alternates without a language: kept, but not as Dutch.
      alternativeTitles: ['La Nymphe Salmacis et Hermaphrodite', 'The Nymph Salmacis and Hermaphrodite', 'Die Nymphe Salmakis und Hermaphroditos'],
      creators: [
        {
          name: 'Navez, François-Joseph',
          altNames: ['François Joseph Navez'],
          birth: '1787-11-16',
          death: '1869-10-12',
          uris: ['http://viaf.org/viaf/54320066', 'https://rkd.nl/explore/artists/58967'],
        },
      ],
      dates: { display: '1829', earliest: '1829', latest: '1829' },
      period: { nl: ['19de eeuw'] },
      objectTypes: [{ label: { nl: ['olieverfschilderij'] }, uris: ['http://vocab.getty.edu/aat/300033799'] }],
      categories: [{ label: { nl: ['schilderingen'] }, uris: ['http://vocab.getty.edu/aat/300033618'] }],
      materials: [
        { label: { nl: ['olieverf'] }, uris: [] },
        { label: { nl: ['doek'] }, uris: [] },
      ],
      techniques: [],
      materialsDisplay: ['olieverf op doek'],
      relatedWorks: [],
      rights: { statements: [], metadata: [] },
      representations: [{ pid: 'http://mskgent.be/collection/work/representation/1829-A', url: 'http://mskgent.be/collection/work/representation/1829-A', rights: [] }],
    });
    expect(record.descriptions.nl).toHaveLength(1);
    expect(record.descriptions.nl![0]).toMatch(/^Het verhaal van Salmacis en Hermaphroditus komt uit de Metamorfosen van Ovidius\./);
    expect(record.dimensions).toEqual([
      { type: 'hoogte', value: 194, unit: 'cm', extent: 'geheel' },
      { type: 'breedte', value: 148, unit: 'cm', extent: 'geheel' },
      { type: 'hoogte', value: 226.5, unit: 'cm', extent: 'lijst' },
      { type: 'breedte', value: 180, unit: 'cm', extent: 'lijst' },
      { type: 'diepte', value: 14.5, unit: 'cm', extent: 'lijst' },
    ]);
    expect(record.subjects).toEqual([
      { label: { nl: ['mythologie'] }, uris: [], kind: 'concept', type: 'hoofdmotief' },
      { label: { nl: ['water'] }, uris: [], kind: 'concept' },
      { label: { nl: ['Salmacis'] }, uris: [], kind: 'actor' },
      { label: { nl: ['Hermaphroditus'] }, uris: [], kind: 'actor' },
    ]);
    expect(record).not.toHaveProperty('warnings');
    expect(record).not.toHaveProperty('deleted');
  });

  it('maps Groeninge 0000.GRO0208.I: cleaned object number, Wikidata, circa dates, two periods', () => {
    const record = only(fixture(ORIGIN_GRO0208));
    expect(record.recordId).toBe('oai:datahub.vlaamsekunstcollectie.be:groeningemuseum.be:0000_GRO0208_I');
    expect(record.objectNumber).toBe('0000.GRO0208.I');
    expect(record.objectNumberNormalised).toBe('0000_GRO0208_I');
    expect(record.dataPid).toBe('http://groeningemuseum.be/collection/work/data/0000_GRO0208_I');
    expect(record.workPid).toBe('http://groeningemuseum.be/collection/work/id/0000_GRO0208_I');
    expect(record.institution).toEqual({ name: 'Musea Brugge - Groeningemuseum', label: { nl: ['Musea Brugge - Groeningemuseum'] }, weblink: 'http://groeningemuseum.be' });
    expect(record.titles).toEqual({ nl: ['Laatste Oordeel'] });
    expect(record.alternativeTitles).toEqual(['Le Jugement Dernier', 'Last Judgement', 'Das Jüngste Gericht']);
    expect(record.creators).toEqual([
      {
        name: 'Bosch, Jheronimus',
        altNames: ['Jheronimus Bosch'],
        birth: '1450',
        death: '1516',
        uris: ['http://viaf.org/viaf/305854999', 'https://rkd.nl/explore/artists/11018', 'http://www.wikidata.org/wiki/Q130531'],
      },
    ]);
    expect(record.dates).toEqual({ display: 'circa 1500', earliest: '1500', latest: '1500' });
    expect(record.period).toEqual({ nl: ['15de eeuw', '16de eeuw'] });
    expect(record.materials).toEqual([
      { label: { nl: ['olieverf'] }, uris: [] },
      { label: { nl: ['eikenhout'] }, uris: ['http://vocab.getty.edu/aat/300012264'] },
    ]);
    expect(record.dimensions.map((d) => [d.type, d.value, d.extent])).toEqual([
      ['hoogte', 98.7, 'geheel'],
      ['breedte', 110.7, 'geheel'],
      ['hoogte', 111.5, 'met lijst'],
      ['breedte', 147, 'met lijst'],
      ['diepte', 5, 'met lijst'],
      ['hoogte', 109.4, 'met lijst'],
      ['breedte', 148.1, 'met lijst'],
      ['diepte', 6, 'met lijst'],
    ]);
    expect(record.representations).toEqual([
      { pid: 'http://groeningemuseum.be/collection/work/representation/0000_GRO0208_I', url: 'http://groeningemuseum.be/collection/work/representation/0000_GRO0208_I', rights: [] },
    ]);
  });

  it('maps KMSKA 257-260: institution from recordSource only, roles, display measurements, the TMS "Diameter 0" dropped', () => {
    const record = only(fixture(ORIGIN_257_260));
    expect(record.objectNumber).toBe('257-260');
    expect(record.institution).toEqual({
      name: 'Koninklijk Museum voor Schone Kunsten Antwerpen',
      label: { nl: ['Koninklijk Museum voor Schone Kunsten Antwerpen'] },
      weblink: 'http://kmska.be',
    });
    expect(record.titles).toEqual({ nl: ['Orsini Polyptiek'] });
    expect(record.creators).toEqual([
      {
        name: 'Simone Martini',
        altNames: [],
        role: 'schilder',
        birth: '1284',
        death: '1344',
        uris: ['http://viaf.org/viaf/101100651', 'https://rkd.nl/explore/artists/53008', 'http://www.wikidata.org/wiki/Q221043'],
      },
    ]);
    expect(record.dates).toEqual({});
    expect(record.objectTypes.map((t) => t.label)).toEqual([{ nl: ['drieluik[zijluik]'] }, { nl: ['schilderij'] }]);
    expect(record.dimensions).toEqual([
      { type: 'Hoogte', value: 29.5, unit: 'Centimeters', extent: 'Inclusief lijst', display: '29,5 × 82,1 × 2 cm' },
      { type: 'Breedte', value: 82.1, unit: 'Centimeters', extent: 'Inclusief lijst', display: '29,5 × 82,1 × 2 cm' },
      { type: 'Diepte', value: 2, unit: 'Centimeters', extent: 'Inclusief lijst', display: '29,5 × 82,1 × 2 cm' },
    ]);
    expect(record.dimensionsDisplay).toEqual(['29,5 × 82,1 × 2 cm']);
    // &#13; plus a newline: one line break.
    expect(record.descriptions.nl![0]).toContain('de Graflegging.\nWanneer de luiken gesloten waren');
    expect(record.representations).toEqual([]);
  });

  it('maps KMSKA 257 with its two measurement kinds and the repeated work type once', () => {
    const record = only(fixture(ORIGIN_257));
    expect(record.titles).toEqual({ nl: ['Annunciatie'] });
    expect(record.objectTypes.map((t) => t.label.nl)).toEqual([['drieluik[linkerluik,buiten]'], ['schilderij']]);
    expect(record.dimensionsDisplay).toEqual(['23 × 14 cm', '29,7 × 20,5 × 1,5 cm']);
    expect(record.dimensions.filter((d) => d.extent === 'Dagmaat').map((d) => [d.type, d.value])).toEqual([
      ['Hoogte', 23],
      ['Breedte', 14],
    ]);
  });
});

describe('the VKC target model (Imagehub-Fixes DESTINATION)', () => {
  it('merges the nl and en blocks, relations and image rights, and flags the contradictory relation', () => {
    const record = only(fixture(DESTINATION_257));
    expect(record.recordId).toBe('oai:datahub.vlaamsekunstcollectie.be:kmska.be:257');
    expect(Object.keys(record.descriptions)).toEqual(['nl', 'en']);
    expect(record.descriptions.en![0]).toMatch(/^Originally formed the four scenes/);
    expect(record.period).toEqual({ nl: ['14de eeuw'], en: ['14th century'] });
    expect(record.creators).toHaveLength(1);
    expect(record.subjects).toEqual([{ label: { nl: ['Religieuze voorstellingen'] }, uris: [], kind: 'concept', type: 'hoofdmotief' }]);
    // The nl block says 257 hasPart 257-260, the en block says isPartOf: both kept, and a warning.
    expect(record.relatedWorks).toEqual([
      { relation: 'hasPart', relationUri: 'http://purl.org/dc/terms/hasPart', recordId: 'oai:datahub.vlaamsekunstcollectie.be:kmska.be:257-260', localId: '257-260' },
      { relation: 'isPartOf', relationUri: 'http://purl.org/dc/terms/isPartOf', recordId: 'oai:datahub.vlaamsekunstcollectie.be:kmska.be:257-260', localId: '257-260' },
    ]);
    expect(record.warnings).toEqual(['contradictory relations to oai:datahub.vlaamsekunstcollectie.be:kmska.be:257-260: both hasPart and isPartOf']);
    expect(record.representations).toEqual([
      { resourceId: '0030251001', rights: [{ text: 'CC0', uri: 'https://creativecommons.org/publicdomain/zero/1.0/' }] },
    ]);
  });

  it('skips the record that is not well-formed, naming it and the line', () => {
    const result = parseLidoDocument(fixture(DESTINATION_1829A));
    expect(result.records).toEqual([]);
    expect(result.skipped).toEqual([
      { identifier: 'oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A', reason: expect.stringMatching(/^not well-formed XML: .*lido:type:"URI".*\(document line 407\)$/) },
    ]);
    expect(result.documentErrors[0]).toMatch(/line 407/);
  });
});

// No licence is stated for the Datahub-Fixes records, so they are not copied into this repository: read in place.
const shared = (path: string) => readFileSync(join(SHARED, path), 'utf8');

describe.skipIf(!haveShared)('the Datahub-Fixes pipeline outputs (older profile variants)', () => {
  it('kmska_lido.xml: resolver PIDs, no object number, "0" dates, the preferred name among several name sets', () => {
    const record = only(shared('vkc-datahub-fixes/kmska_lido.xml'));
    expect(record).toMatchObject({
      recordId: 'http://resolver.kmska.be/collection/7',
      dataPid: 'http://resolver.kmska.be/collection/7',
      // As published: the work PID is the one with /work/data/ in it.
      workPid: 'http://resolver.kmska.be/collection/work/data/7',
      localRecordId: '7',
      institution: { name: 'KMSKA', weblink: 'http://kmska.be' },
      titles: { nl: ['Oorlogsschip "De Jacob" voor anker'] },
      descriptions: {},
      creators: [{ name: 'Ludolf Backhuysen', altNames: ['Ludolf Bakhuizen'], role: 'schilder', uris: ['http://viaf.org/viaf/40185031', 'https://rkd.nl/explore/artists/3414'] }],
      dates: {},
      period: { nl: ['17de eeuw'] },
      materialsDisplay: ['olieverf op doek'],
      subjects: [{ label: { nl: ['Zeegezichten'] }, uris: [], kind: 'concept' }],
    });
    expect(record).not.toHaveProperty('objectNumber');
  });

  it('msk_lido.xml: Perl HASH(…) qualifier and empty ids are absent, untyped classification is a category', () => {
    const record = only(shared('vkc-datahub-fixes/msk_lido.xml'));
    expect(record.creators).toEqual([
      { name: 'Sys, Maurice', altNames: [], birth: '1880', death: '1972', uris: ['http://viaf.org/viaf/96421783', 'http://explore.rkd.nl/nl/explore/artists/72543'] },
    ]);
    expect(record.titles).toEqual({ nl: ['Steegje in Nieuwpoort'] });
    expect(record.descriptions).toEqual({});
    expect(record.categories).toEqual([{ label: { nl: ['olieverfschilderij'] }, uris: ['http://vocab.getty.edu/aat/300033799'] }]);
    expect(record.dimensions).toEqual([
      { type: 'hoogte', value: 26.9, unit: 'cm' },
      { type: 'breedte', value: 20.2, unit: 'cm' },
    ]);
    expect(record.materials).toEqual([]);
  });

  it('vkc_lido.xml: decimal commas, an unresolved template path, two unmarked titles', () => {
    const record = only(shared('vkc-datahub-fixes/vkc_lido.xml'));
    expect(record.dimensions).toEqual([
      { type: 'breedte', value: 205, unit: 'cm' },
      { type: 'hoogte', value: 136, unit: 'cm' },
    ]);
    expect(record.titles).toEqual({ nl: ['Les trois jours (De drie dagen)', 'Les trois jours (The three Days)'] });
    expect(record.dates).toEqual({ earliest: '1959' });
    expect(record.creators[0]).toMatchObject({ name: 'Pierre Alechinsky', role: 'creator', uris: ['http://viaf.org/viaf/95854378'] });
    expect(record.categories).toEqual([{ label: { nl: ['Paintings'] }, uris: ['http://vocab.getty.edu/aat/300177435'] }]);
    expect(record.workPid).toBe('http://groeningemuseum.be/collection/work/id/1981_GRO0017_I');
  });
});

describe('OAI-PMH envelopes', () => {
  const envelope = (name: string) => fixture(`oai-pmh-reconstructed/${name}`);

  it('GetRecord: the record with its header', () => {
    const result = parseLidoDocument(envelope('GetRecord.xml'));
    expect(result.documentErrors).toEqual([]);
    expect(result.records).toHaveLength(1);
    const { record, xml } = result.records[0]!;
    expect(record).toMatchObject({
      recordId: 'oai:datahub.vlaamsekunstcollectie.be:kmska.be:257',
      oaiIdentifier: 'oai:datahub.vlaamsekunstcollectie.be:kmska.be:257',
      datestamp: '2019-07-31T21:30:12Z',
      setSpecs: ['institution:koninklijk_museum_voor_schone_kunsten_antwerpen', 'creator:simone_martini', 'period:14de_eeuw', 'object_category:schilderij'],
      objectNumber: '257',
    });
    expect(xml).toMatch(/^<lido:lido xmlns:gml="http:\/\/www.opengis.net\/gml" xmlns:lido="http:\/\/www.lido-schema.org"/);
    expect(xml).toMatch(/<\/lido:lido>$/);
    expect(result.oai).toMatchObject({ verb: 'GetRecord', responseDate: '2019-08-01T10:00:00Z', errors: [] });
  });

  it('ListRecords: records in order, the resumption token, and the same records the protocol module yields', () => {
    const page = envelope('ListRecords-page1.xml');
    const result = parseLidoDocument(page);
    expect(result.records.map((e) => e.record.recordId)).toEqual([
      'oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A',
      'oai:datahub.vlaamsekunstcollectie.be:groeningemuseum.be:0000_GRO0208_I',
      'oai:datahub.vlaamsekunstcollectie.be:kmska.be:257-260',
      'oai:datahub.vlaamsekunstcollectie.be:kmska.be:257',
    ]);
    expect(result.oai?.resumptionToken).toEqual({
      value: 'eyJvZmZzZXQiOjI1LCJtZXRhZGF0YVByZWZpeCI6Im9haV9saWRvIiwic2V0IjpudWxsLCJmcm9tIjpudWxsLCJ1bnRpbCI6bnVsbH0=',
      completeListSize: 16000,
    });
    expect(result.oai?.headers).toHaveLength(4);
    // The harvester's path: oai-pmh.ts pages, mapLidoRecord maps each record's verbatim metadata.
    const viaProtocol = parseOaiResponse(page).records.map((r) => mapLidoRecord(r.metadata!, r.header));
    expect(viaProtocol).toEqual(result.records.map((e) => ({ ok: true, record: e.record })));
  });

  it("the harvester's page path maps each record exactly as the single-record and document paths and fast-xml-parser's tree do", () => {
    for (const name of ['GetRecord.xml', 'ListRecords-page1.xml', 'ListRecords-lastpage.xml']) {
      const page = envelope(name);
      const records = parseOaiResponse(page).records;
      expect(records.length, name).toBeGreaterThan(0);
      // The page path: the page validated whole, each record's metadata mapped without validating it again.
      const viaPage = records.map((r) => mapLidoRecord(r.metadata!, r.header, { wellFormed: true }));
      const viaRecord = records.map((r) => mapLidoRecord(r.metadata!, r.header));
      const viaFastXmlParser = records.map((r) => mapLidoRecord(xmlTrees.fastXmlParser(r.metadata!), r.header));
      const viaDocument = parseLidoDocument(page).records.map((e) => ({ ok: true, record: e.record }));
      expect(viaPage.every((m) => m.ok), name).toBe(true);
      // Serialised, so that key order counts too.
      for (const other of [viaRecord, viaFastXmlParser, viaDocument]) expect(JSON.stringify(other), name).toBe(JSON.stringify(viaPage));
    }
  });

  it('the last page has an empty token; ListIdentifiers has headers and no records; errors are not skipped records', () => {
    expect(parseLidoDocument(envelope('ListRecords-lastpage.xml')).oai?.resumptionToken).toEqual({ value: '', completeListSize: 16000 });
    const identifiers = parseLidoDocument(envelope('ListIdentifiers-page1.xml'));
    expect(identifiers.records).toEqual([]);
    expect(identifiers.oai?.headers.map((h) => h.identifier)).toContain('oai:datahub.vlaamsekunstcollectie.be:kmska.be:257-260');
    const error = parseLidoDocument(envelope('error-idDoesNotExist.xml'));
    expect(error).toMatchObject({ records: [], skipped: [], oai: { errors: [{ code: 'idDoesNotExist', message: 'No matching identifier does-not-exist' }] } });
  });

  it('returns deleted records with only their identifiers, and maps what arrived of a cut-off page', () => {
    const xml = `<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z</responseDate>
      <ListRecords><record><header status="deleted"><identifier>oai:x:gone</identifier><datestamp>2025-12-31T00:00:00Z</datestamp><setSpec>institution:x</setSpec></header></record>
      <record><header><identifier>oai:x:2</identifier><datestamp>2025-12-30T00:00:00Z</datestamp></header><metadata><lido xmlns="http://www.lido-schema.org"><lidoRecID>oai:x:2</lidoRecID></lido></metadata></record>
      <record><header><identifier>oai:x:3</identifier><datestamp>2025-12-30T00:00:00Z</datestamp></header><metadata><lido xmlns="http://www.lido-schema.org"><lidoRecID>oai:x:3</lidoRecID><descriptiveMet`;
    const result = parseLidoDocument(xml);
    const [deleted, live] = result.records;
    expect(deleted).toEqual({
      record: {
        recordId: 'oai:x:gone', oaiIdentifier: 'oai:x:gone', datestamp: '2025-12-31T00:00:00Z', setSpecs: ['institution:x'], deleted: true,
        titles: {}, alternativeTitles: [], descriptions: {}, creators: [], dates: {}, objectTypes: [], categories: [], materials: [], techniques: [],
        materialsDisplay: [], dimensions: [], dimensionsDisplay: [], subjects: [], relatedWorks: [], rights: { statements: [], metadata: [] }, representations: [],
      },
    });
    expect(live?.record.recordId).toBe('oai:x:2');
    expect(live?.xml).toBe('<lido xmlns="http://www.lido-schema.org"><lidoRecID>oai:x:2</lidoRecID></lido>');
    expect(result.skipped).toEqual([{ identifier: 'oai:x:3', reason: expect.stringMatching(/^not well-formed XML/) }]);
    expect(result.documentErrors.length).toBeGreaterThan(0);
    expect(result.oai?.resumptionToken).toBeUndefined();
  });
});

/** A 2021–22 style record (object-number, object-category, content-motif-general, rights, representation PIDs). */
const PROFILE_2022 = `<?xml version="1.0" encoding="UTF-8"?>
<lido:lido xmlns:lido="http://www.lido-schema.org">
  <lido:lidoRecID lido:pref="alternate" lido:type="purl" lido:label="dataPID">https://kmska.be/collection/work/data/5000</lido:lidoRecID>
  <lido:lidoRecID lido:pref="preferred" lido:type="urn" lido:label="dataPID">oai:datahub.kmska.be:kmska.be:5000</lido:lidoRecID>
  <lido:objectPublishedID lido:type="purl" lido:label="workPID">[WorkPID]</lido:objectPublishedID>
  <lido:objectPublishedID lido:type="purl" lido:label="workPID">https://kmska.be/collection/work/id/5000</lido:objectPublishedID>
  <lido:descriptiveMetadata xml:lang="nl">
    <lido:objectClassificationWrap>
      <lido:objectWorkTypeWrap>
        <lido:objectWorkType>
          <lido:conceptID lido:source="AAT" lido:type="local">300033618</lido:conceptID>
          <lido:term lido:pref="preferred" xml:lang="nl">schilderij</lido:term>
          <lido:term lido:pref="preferred" xml:lang="en">painting</lido:term>
          <lido:term lido:pref="alternate" xml:lang="nl">schilderingen</lido:term>
        </lido:objectWorkType>
      </lido:objectWorkTypeWrap>
      <lido:classificationWrap>
        <lido:classification lido:type="object-category"><lido:term>n/a</lido:term></lido:classification>
        <lido:classification lido:type="object-category"><lido:term lido:pref="preferred">schilderijen</lido:term></lido:classification>
        <lido:classification lido:type="europeana:type"><lido:term>IMAGE</lido:term></lido:classification>
      </lido:classificationWrap>
    </lido:objectClassificationWrap>
    <lido:objectIdentificationWrap>
      <lido:titleWrap>
        <lido:titleSet>
          <lido:appellationValue lido:pref="preferred" xml:lang="nl">De Schelde bij Antwerpen</lido:appellationValue>
          <lido:appellationValue lido:pref="alternate" xml:lang="en">The Scheldt near Antwerp</lido:appellationValue>
        </lido:titleSet>
      </lido:titleWrap>
      <lido:repositoryWrap>
        <lido:repositorySet lido:type="former"><lido:repositoryName><lido:legalBodyName><lido:appellationValue>Verzameling X</lido:appellationValue></lido:legalBodyName></lido:repositoryName></lido:repositorySet>
        <lido:repositorySet lido:type="current">
          <lido:repositoryName>
            <lido:legalBodyID lido:type="ISIL">BE-ANT01</lido:legalBodyID>
            <lido:legalBodyName><lido:appellationValue>Koninklijk Museum voor Schone Kunsten Antwerpen</lido:appellationValue></lido:legalBodyName>
          </lido:repositoryName>
          <lido:workID lido:type="inventory number">INV-5000</lido:workID>
          <lido:workID lido:type="object-number">5000 (a)</lido:workID>
        </lido:repositorySet>
      </lido:repositoryWrap>
      <lido:objectDescriptionWrap>
        <lido:objectDescriptionSet>
          <lido:descriptiveNoteValue xml:lang="nl"><![CDATA[Een <b>rivier</b> & kade]]> in de mist</lido:descriptiveNoteValue>
          <lido:descriptiveNoteValue xml:lang="en">N/A</lido:descriptiveNoteValue>
          <lido:descriptiveNoteValue xml:lang="fr">   </lido:descriptiveNoteValue>
        </lido:objectDescriptionSet>
      </lido:objectDescriptionWrap>
      <lido:objectMeasurementsWrap>
        <lido:objectMeasurementsSet>
          <lido:displayObjectMeasurements>12,5 × 20 cm</lido:displayObjectMeasurements>
          <lido:objectMeasurements>
            <lido:measurementsSet><lido:measurementType>hoogte</lido:measurementType><lido:measurementUnit>cm</lido:measurementUnit><lido:measurementValue>12,5</lido:measurementValue></lido:measurementsSet>
            <lido:measurementsSet><lido:measurementType>breedte</lido:measurementType><lido:measurementUnit>cm</lido:measurementUnit><lido:measurementValue>20</lido:measurementValue></lido:measurementsSet>
            <lido:measurementsSet><lido:measurementType>gewicht</lido:measurementType><lido:measurementUnit>kg</lido:measurementUnit><lido:measurementValue>ca. 3</lido:measurementValue></lido:measurementsSet>
            <lido:extentMeasurements>geheel</lido:extentMeasurements>
          </lido:objectMeasurements>
        </lido:objectMeasurementsSet>
      </lido:objectMeasurementsWrap>
    </lido:objectIdentificationWrap>
    <lido:eventWrap>
      <lido:eventSet>
        <lido:event>
          <lido:eventType><lido:term>acquisition</lido:term></lido:eventType>
          <lido:eventActor><lido:actorInRole><lido:actor><lido:nameActorSet><lido:appellationValue>Stad Antwerpen</lido:appellationValue></lido:nameActorSet></lido:actor></lido:actorInRole></lido:eventActor>
        </lido:event>
      </lido:eventSet>
      <lido:eventSet>
        <lido:event>
          <lido:eventType><lido:term xml:lang="en">production</lido:term></lido:eventType>
          <lido:eventActor>
            <lido:actorInRole>
              <lido:actor>
                <lido:actorID lido:type="local" lido:source="TMS">42</lido:actorID>
                <lido:actorID lido:type="purl" lido:source="Wikidata">http://www.wikidata.org/entity/Q123</lido:actorID>
                <lido:nameActorSet><lido:appellationValue lido:pref="preferred">Verstraete, Theodoor</lido:appellationValue></lido:nameActorSet>
                <lido:vitalDatesActor><lido:earliestDate>1850</lido:earliestDate><lido:latestDate>1907</lido:latestDate></lido:vitalDatesActor>
              </lido:actor>
              <lido:roleActor><lido:term>schilder</lido:term></lido:roleActor>
              <lido:attributionQualifierActor>toegeschreven aan</lido:attributionQualifierActor>
            </lido:actorInRole>
          </lido:eventActor>
          <lido:eventDate>
            <lido:displayDate>1890-1895</lido:displayDate>
            <lido:date><lido:earliestDate>1890</lido:earliestDate><lido:latestDate>1895</lido:latestDate></lido:date>
          </lido:eventDate>
          <lido:periodName><lido:term xml:lang="nl">19de eeuw</lido:term><lido:term xml:lang="en">19th century</lido:term></lido:periodName>
          <lido:eventMaterialsTech>
            <lido:displayMaterialsTech>olieverf op doek</lido:displayMaterialsTech>
            <lido:materialsTech>
              <lido:termMaterialsTech lido:type="material"><lido:conceptID lido:source="AAT">aat:300015050</lido:conceptID><lido:term>olieverf</lido:term></lido:termMaterialsTech>
              <lido:termMaterialsTech lido:type="technique"><lido:term>schilderen</lido:term></lido:termMaterialsTech>
            </lido:materialsTech>
          </lido:eventMaterialsTech>
        </lido:event>
      </lido:eventSet>
    </lido:eventWrap>
    <lido:objectRelationWrap>
      <lido:subjectWrap>
        <lido:subjectSet>
          <lido:subject lido:type="content-motif-general">
            <lido:subjectConcept>
              <lido:conceptID lido:source="Iconclass" lido:type="local">25 H 11</lido:conceptID>
              <lido:term xml:lang="nl">rivier</lido:term>
              <lido:term lido:addedSearchTerm="yes">landschap</lido:term>
            </lido:subjectConcept>
          </lido:subject>
        </lido:subjectSet>
      </lido:subjectWrap>
      <lido:relatedWorksWrap>
        <lido:relatedWorkSet lido:sortorder="2">
          <lido:relatedWork><lido:object><lido:objectID lido:type="oai">oai:datahub.kmska.be:kmska.be:5000-5001</lido:objectID></lido:object></lido:relatedWork>
          <lido:relatedWorkRelType><lido:conceptID lido:type="URI">http://purl.org/dc/terms/isPartOf</lido:conceptID><lido:term>is deel van</lido:term></lido:relatedWorkRelType>
        </lido:relatedWorkSet>
        <lido:relatedWorkSet lido:sortorder="1">
          <lido:relatedWork>
            <lido:displayObject>Voorstudie</lido:displayObject>
            <lido:object><lido:objectID lido:type="purl">https://kmska.be/collection/work/id/4999</lido:objectID></lido:object>
          </lido:relatedWork>
          <lido:relatedWorkRelType><lido:term>related to</lido:term></lido:relatedWorkRelType>
        </lido:relatedWorkSet>
      </lido:relatedWorksWrap>
    </lido:objectRelationWrap>
  </lido:descriptiveMetadata>
  <lido:administrativeMetadata xml:lang="nl">
    <lido:rightsWorkWrap>
      <lido:rightsWorkSet>
        <lido:rightsType>
          <lido:conceptID lido:type="purl" lido:source="Creative Commons">https://creativecommons.org/publicdomain/zero/1.0/</lido:conceptID>
          <lido:term>CC0</lido:term>
        </lido:rightsType>
        <lido:rightsHolder><lido:legalBodyName><lido:appellationValue>KMSKA</lido:appellationValue></lido:legalBodyName></lido:rightsHolder>
        <lido:creditLine>Collectie KMSKA - Vlaamse Gemeenschap (CC0)</lido:creditLine>
      </lido:rightsWorkSet>
    </lido:rightsWorkWrap>
    <lido:recordWrap>
      <lido:recordID lido:type="local">12345</lido:recordID>
      <lido:recordSource>
        <lido:legalBodyName><lido:appellationValue>Koninklijk Museum voor Schone Kunsten Antwerpen</lido:appellationValue></lido:legalBodyName>
        <lido:legalBodyWeblink>https://kmska.be</lido:legalBodyWeblink>
      </lido:recordSource>
    </lido:recordWrap>
    <lido:resourceWrap>
      <lido:resourceSet lido:sortorder="1">
        <lido:resourceID lido:type="purl" lido:label="representationPID">https://kmska.be/collection/work/representation/5000/1</lido:resourceID>
        <lido:resourceRepresentation><lido:linkResource>https://images.kmska.be/5000-1.jpg</lido:linkResource></lido:resourceRepresentation>
      </lido:resourceSet>
      <lido:resourceSet>
        <lido:resourceID lido:source="Imagehub">https://imagehub.kmska.be/iiif/3/5000/manifest.json</lido:resourceID>
        <lido:resourceType><lido:term>IIIF Manifest</lido:term></lido:resourceType>
      </lido:resourceSet>
    </lido:resourceWrap>
  </lido:administrativeMetadata>
</lido:lido>`;

describe('the 2021–22 profile generation, and how the XML is written', () => {
  it('maps every field the profile names', () => {
    const record = only(PROFILE_2022);
    expect(record).toEqual({
      recordId: 'oai:datahub.kmska.be:kmska.be:5000',
      setSpecs: [],
      dataPid: 'https://kmska.be/collection/work/data/5000',
      workPid: 'https://kmska.be/collection/work/id/5000',
      localRecordId: '12345',
      objectNumber: '5000 (a)',
      objectNumberNormalised: '5000_a',
      institution: { name: 'Koninklijk Museum voor Schone Kunsten Antwerpen', label: { nl: ['Koninklijk Museum voor Schone Kunsten Antwerpen'] }, weblink: 'https://kmska.be', id: 'BE-ANT01' },
      titles: { nl: ['De Schelde bij Antwerpen'], en: ['The Scheldt near Antwerp'] },
      alternativeTitles: [],
      descriptions: { nl: ['Een <b>rivier</b> & kade in de mist'] },
      creators: [
        { name: 'Verstraete, Theodoor', altNames: [], role: 'schilder', attributionQualifier: 'toegeschreven aan', birth: '1850', death: '1907', uris: ['http://www.wikidata.org/entity/Q123'] },
      ],
      dates: { display: '1890-1895', earliest: '1890', latest: '1895' },
      period: { nl: ['19de eeuw'], en: ['19th century'] },
      objectTypes: [{ label: { nl: ['schilderij'], en: ['painting'] }, uris: ['http://vocab.getty.edu/aat/300033618'] }],
      categories: [{ label: { nl: ['schilderijen'] }, uris: [] }],
      materials: [{ label: { nl: ['olieverf'] }, uris: ['http://vocab.getty.edu/aat/300015050'] }],
      techniques: [{ label: { nl: ['schilderen'] }, uris: [] }],
      materialsDisplay: ['olieverf op doek'],
      dimensions: [
        { type: 'hoogte', value: 12.5, unit: 'cm', extent: 'geheel', display: '12,5 × 20 cm' },
        { type: 'breedte', value: 20, unit: 'cm', extent: 'geheel', display: '12,5 × 20 cm' },
      ],
      dimensionsDisplay: ['12,5 × 20 cm'],
      subjects: [{ label: { nl: ['rivier'] }, uris: ['http://iconclass.org/25H11'], kind: 'concept', type: 'content-motif-general', iconclass: '25 H 11' }],
      relatedWorks: [
        { relation: 'isPartOf', relationUri: 'http://purl.org/dc/terms/isPartOf', recordId: 'oai:datahub.kmska.be:kmska.be:5000-5001', sortOrder: 2 },
        { relation: 'relatedTo', pid: 'https://kmska.be/collection/work/id/4999', label: 'Voorstudie', sortOrder: 1 },
      ],
      rights: {
        creditLine: 'Collectie KMSKA - Vlaamse Gemeenschap (CC0)',
        statements: [{ text: 'CC0', uri: 'https://creativecommons.org/publicdomain/zero/1.0/', holder: 'KMSKA' }],
        metadata: [],
      },
      representations: [
        { pid: 'https://kmska.be/collection/work/representation/5000/1', url: 'https://images.kmska.be/5000-1.jpg', sortOrder: 1, rights: [] },
        { pid: 'https://imagehub.kmska.be/iiif/3/5000/manifest.json', type: 'IIIF Manifest', rights: [] },
      ],
    });
    // The stored record reads top-down like the type.
    expect(Object.keys(record).slice(0, 4)).toEqual(['recordId', 'setSpecs', 'dataPid', 'workPid']);
  });

  it('reads the default namespace, another prefix and unprefixed attributes the same', () => {
    const expected = only(PROFILE_2022);
    const defaultNs = PROFILE_2022.replace('xmlns:lido=', 'xmlns=').replace(/<(\/?)lido:/g, '<$1');
    const otherPrefix = PROFILE_2022.replace('xmlns:lido=', 'xmlns:ns0=').replace(/<(\/?)lido:/g, '<$1ns0:').replace(/ lido:/g, ' ns0:');
    const bareAttributes = PROFILE_2022.replace(/ lido:(\w+)=/g, ' $1=');
    for (const variant of [defaultNs, otherPrefix, bareAttributes]) expect(only(variant)).toEqual(expected);
  });

  it('maps its own stored XML back to the same record', () => {
    const [entry] = parseLidoDocument(`<lidoWrap xmlns="http://www.lido-schema.org">${PROFILE_2022.replace(/^<\?xml[^>]*>\s*/, '')}</lidoWrap>`).records;
    const result = mapLidoRecord(entry!.xml!);
    expect(result).toEqual({ ok: true, record: only(PROFILE_2022) });
  });

  it('keeps the other records of a wrap when one is broken or has no id', () => {
    const xml = `<lido:lidoWrap xmlns:lido="http://www.lido-schema.org">
      <lido:lido><lido:lidoRecID lido:type="local">good-1</lido:lidoRecID></lido:lido>
      <lido:lido><lido:lidoRecID lido:type="local">bad-2</lido:lidoRecID><lido:titleWrap a="1" a="2"/></lido:lido>
      <lido:lido><lido:lidoRecID lido:pref="preferred">  </lido:lidoRecID></lido:lido>
      <lido:lido><lido:lidoRecID>good-5</lido:lidoRecID></lido:lido>
    </lido:lidoWrap>`;
    const result = parseLidoDocument(xml);
    expect(result.records.map((e) => e.record.recordId)).toEqual(['good-1', 'good-5']);
    expect(result.records[0]!.xml).toBe('<lido:lido xmlns:lido="http://www.lido-schema.org"><lido:lidoRecID lido:type="local">good-1</lido:lidoRecID></lido:lido>');
    expect(result.skipped).toEqual([
      { identifier: 'bad-2', reason: expect.stringMatching(/^not well-formed XML: .*\(document line 3\)$/) },
      { reason: 'record has no lidoRecID (no usable record id)' },
    ]);
  });

  it('takes the OAI identifier when the record has no preferred id, and says so', () => {
    const lido = '<lido:lido xmlns:lido="http://www.lido-schema.org"><lido:lidoRecID lido:pref="alternate">http://x/data/1</lido:lidoRecID></lido:lido>';
    const result = mapLidoRecord(lido, { identifier: 'oai:x:1', datestamp: '2026-01-01T00:00:00Z', setSpecs: ['a'], deleted: false });
    expect(result).toMatchObject({
      ok: true,
      record: { recordId: 'oai:x:1', oaiIdentifier: 'oai:x:1', datestamp: '2026-01-01T00:00:00Z', setSpecs: ['a'], warnings: ['no preferred lidoRecID; the OAI identifier is the record id'] },
    });
  });

  it('never throws, whatever it is given', () => {
    for (const input of ['', 'not xml', '<html><body>502 Bad Gateway</body></html>', '<lido:lido', '<a><b></a>', '<?xml version="1.0"?><!-- only a comment -->']) {
      const result = parseLidoDocument(input);
      expect(result.records).toEqual([]);
      expect(result.skipped.length + result.documentErrors.length).toBeGreaterThan(0);
      expect(result.skipped.every((s) => s.reason.length > 0)).toBe(true);
    }
    // Element names that are JavaScript object internals: the parser may refuse them, but nothing escapes.
    const odd = parseLidoDocument('<lido><lidoRecID>r</lidoRecID><constructor>x</constructor><hasOwnProperty>y</hasOwnProperty><__proto__>z</__proto__></lido>');
    expect(odd.records.length + odd.skipped.length).toBe(1);
    expect(mapLidoRecord('<lido><title>')).toMatchObject({ ok: false });
    expect(mapLidoRecord({})).toEqual({ ok: false, skipped: { reason: 'record has no lidoRecID (no usable record id)' } });
  });
});

describe('values', () => {
  it('reads decimal commas, thousands separators and nothing else as measurement values', () => {
    expect(parseMeasurement('12,5')).toBe(12.5);
    expect(parseMeasurement('205,0')).toBe(205);
    expect(parseMeasurement(' 226.5 ')).toBe(226.5);
    expect(parseMeasurement('1.234,5')).toBe(1234.5);
    expect(parseMeasurement('1,234.5')).toBe(1234.5);
    for (const bad of ['ca. 3', '12 x 20', '', undefined, 'n/a', '1e5']) expect(parseMeasurement(bad)).toBeUndefined();
  });

  it('cleans object numbers as the Imagehub did', () => {
    expect(cleanObjectNumber('0000.GRO0208.I')).toBe('0000_GRO0208_I');
    expect(cleanObjectNumber('1903-I [buitenluik links]')).toBe('1903-I_buitenluik_links');
    expect(cleanObjectNumber('2000-C (1-350)')).toBe('2000-C_1-350');
    expect(cleanObjectNumber('1920-DA-1,2,3')).toBe('1920-DA-1_2_3');
    expect(cleanObjectNumber('1978-N 1/2')).toBe('1978-N_1_2');
    expect(cleanObjectNumber('1923-AE-10+74')).toBe('1923-AE-10_74');
    expect(cleanObjectNumber('1234 - A')).toBe('1234-A');
    expect(cleanObjectNumber('257-260')).toBe('257-260');
  });
});

describe.skipIf(!haveShared)('every real record in the shared fixtures', () => {
  /** records, skipped per file: README.md's ElementTree counts, minus what cannot be mapped. */
  const EXPECTED: Record<string, [number, number]> = {
    'designmuseumgent-wolfers/WOLFERS_TEST_OUTPUT_LIDO.xml': [271, 0],
    'lido-official-examples/k-int_LIDO-Extended-Example.xml': [3, 0],
    'lido-official-examples/k-int_LIDO-Test.xml': [1, 0],
    'oai-pmh-reconstructed/GetRecord.xml': [1, 0],
    'oai-pmh-reconstructed/Identify.xml': [0, 0],
    'oai-pmh-reconstructed/ListIdentifiers-page1.xml': [0, 0],
    'oai-pmh-reconstructed/ListMetadataFormats.xml': [0, 0],
    'oai-pmh-reconstructed/ListRecords-lastpage.xml': [1, 0],
    'oai-pmh-reconstructed/ListRecords-page1.xml': [4, 0],
    'oai-pmh-reconstructed/error-badResumptionToken.xml': [0, 0],
    'oai-pmh-reconstructed/error-idDoesNotExist.xml': [0, 0],
    'packed-adlib-to-lido/MSKG_LIDO1testrecords.xml': [1, 0],
    'romania-inp-cimec/inp-clasate-istoria-stiintei-si-tehnicii-2014-02-02.first50.xml': [50, 0],
    'thedatahub-tests/lido.xml': [1, 0],
    // Lacks lidoRecID by design.
    'thedatahub-tests/lido_invalid.xml': [0, 1],
    'vkc-datahub-fixes/kmska_lido.xml': [1, 0],
    'vkc-datahub-fixes/msk_lido.xml': [1, 0],
    'vkc-datahub-fixes/vkc_lido.xml': [1, 0],
    // Not well-formed (`lido:type:"URI"`).
    [DESTINATION_1829A]: [0, 1],
    [`${IMAGEHUB}/1LidoMulImage__DESTINATION-oai_datahub.vlaamsekunstcollectie.be_groeningemuseum.be_0000_GRO0208_I.xml`]: [0, 1],
    [ORIGIN_1829A]: [1, 0],
    [ORIGIN_GRO0208]: [1, 0],
    [`${IMAGEHUB}/MulLido1Image__DESTINATION-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257-260.xml`]: [1, 0],
    [DESTINATION_257]: [1, 0],
    [ORIGIN_257_260]: [1, 0],
    [ORIGIN_257]: [1, 0],
  };
  const files = haveShared ? allXml(SHARED).map((f) => relative(SHARED, f)) : [];
  const parsed = new Map(files.map((f) => [f, parseLidoDocument(readFileSync(join(SHARED, f), 'utf8'))]));
  const entries = (): [string, LidoEntry][] => [...parsed].flatMap(([f, r]) => r.records.map((e): [string, LidoEntry] => [f, e]));

  it('parses every file without throwing, with the expected record counts and reasons for every skip', () => {
    expect(Object.fromEntries([...parsed].map(([f, r]) => [f, [r.records.length, r.skipped.length]]))).toEqual(EXPECTED);
    for (const result of parsed.values()) for (const skip of result.skipped) expect(skip.reason).toMatch(/\w{3,}/);
  });

  it('has no empty, whitespace-only or "n/a" value anywhere', () => {
    for (const [file, { record }] of entries()) {
      for (const value of strings(record)) {
        expect(value, `${file} ${record.recordId}`).toMatch(/\S/);
        expect(value, `${file} ${record.recordId}`).toBe(value.trim());
        expect(value.toLowerCase(), `${file} ${record.recordId}`).not.toBe('n/a');
      }
    }
  });

  it("maps each record's stored XML on its own to the same record", () => {
    for (const [file, { record, xml }] of entries()) {
      const header = record.oaiIdentifier ? { identifier: record.oaiIdentifier, datestamp: record.datestamp ?? '', setSpecs: record.setSpecs, deleted: false } : undefined;
      expect(mapLidoRecord(xml!, header), file).toEqual({ ok: true, record });
    }
  });

  it("maps each record from fast-xml-parser's tree exactly as from the fast reader's", () => {
    for (const [file, { record, xml }] of entries()) {
      const header = record.oaiIdentifier ? { identifier: record.oaiIdentifier, datestamp: record.datestamp ?? '', setSpecs: record.setSpecs, deleted: false } : undefined;
      expect(JSON.stringify(mapLidoRecord(xmlTrees.fastXmlParser(xml!), header)), file).toBe(JSON.stringify(mapLidoRecord(xml!, header, { wellFormed: true })));
    }
  });

  it('reproduces the cleaned object number of all 13,545 objects in PIDS_ALL_UTF8.csv', () => {
    const [header, ...rows] = parseCsv(readFileSync(join(SHARED, 'vkc-authority-files/PIDS_ALL_UTF8.csv'), 'utf8'));
    expect(header).toEqual(['_id', 'workPid', 'dataPid']);
    expect(rows).toHaveLength(13_545);
    const mismatches = rows.filter(([id, , dataPid]) => dataPid!.slice(dataPid!.lastIndexOf('/') + 1) !== cleanObjectNumber(id!));
    expect(mismatches).toEqual([]);
  });
});
