/**
 * The record parsers fed garbage: arbitrary strings, and real LIDO records and OAI-PMH envelopes (the repository's
 * fixtures and ../shared/fixtures/datahub when present) truncated, spliced with junk, with markup characters
 * dropped in, ranges deleted or repeated. Each parser keeps its contract:
 *
 *  - parseLidoDocument and mapLidoRecord never throw: records, or skipped entries with a reason;
 *  - parseOaiResponse returns a response or throws OaiProtocolError (what the harvester retries or reports);
 *  - the fast reader (readWellFormedXml) returns a tree or gives up (undefined), never throws;
 *
 * and the heap the process holds after thousands of parses stays where it was (nothing retained per parse).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapLidoRecord, parseLidoDocument, type LidoParseResult } from '../../functions/core/lido.ts';
import { OaiProtocolError, parseOaiResponse } from '../../functions/core/oai-pmh.ts';
import { readWellFormedXml } from '../../functions/core/well-formed-xml.ts';
import { HAVE_SHARED, heapUsed, MB, REPO, runs, SHARED_FIXTURES } from './support.ts';

function allXml(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? allXml(path) : name.endsWith('.xml') ? [path] : [];
  });
}

if (!HAVE_SHARED) console.warn(`xml-parsers: ${SHARED_FIXTURES} is absent; mutating the repository's own fixtures only`);
const FILES = [...allXml(join(REPO, 'test/fixtures/datahub')), ...allXml(join(SHARED_FIXTURES, 'datahub'))];
/** Whole documents up to 200 KB (larger ones make each run slow without exercising anything new). */
const DOCUMENTS = FILES.map((file) => readFileSync(file, 'utf8')).filter((xml) => xml.length <= 200_000);
const ENVELOPES = DOCUMENTS.filter((xml) => /<(\w+:)?OAI-PMH[\s>]/.test(xml));
/** Single records, cut out by the parser itself. */
const RECORDS = DOCUMENTS.flatMap((xml) => parseLidoDocument(xml).records.flatMap((entry) => (entry.xml ? [entry.xml] : []))).slice(0, 60);

const JUNK = [
  '<', '>', '&', '&amp', '&#0;', '&#xD800;', '&nbsp;', '&undefined;', ']]>', '<![CDATA[', '<!--', '-->', '<?', '?>', '</', '/>', '"', "'", '=',
  '<!DOCTYPE x [<!ENTITY e "ee">]>', '&e;', '<lido:lido>', '</lido:lido>', '<record>', '</metadata>', '<resumptionToken>t</resumptionToken>',
  '\u0000', '\uFFFE', '\ud800', '\r', '\r\n', 'xmlns:lido="x"', '<a:b:c>', '<__proto__>', '<constructor/>', '<hasOwnProperty>1</hasOwnProperty>',
  '<#text>', '<lido:lidoRecID lido:type="local">', '<header status="deleted">', '<datestamp>not a date</datestamp>', '<error code="x">',
];

interface Mutation {
  kind: 'truncate' | 'insert' | 'delete' | 'repeat' | 'replace';
  at: number;
  length: number;
  junk: string;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('truncate', 'insert', 'delete', 'repeat', 'replace'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  length: fc.integer({ min: 0, max: 400 }),
  junk: fc.oneof(fc.constantFrom(...JUNK), fc.string({ unit: 'binary', maxLength: 20 }), fc.array(fc.constantFrom(...JUNK), { maxLength: 5 }).map((j) => j.join(''))),
});

function mutate(xml: string, mutations: readonly Mutation[]): string {
  let out = xml;
  for (const m of mutations) {
    const at = Math.floor(m.at * out.length);
    if (m.kind === 'truncate') out = out.slice(0, at);
    else if (m.kind === 'insert') out = out.slice(0, at) + m.junk + out.slice(at);
    else if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + m.length);
    else if (m.kind === 'repeat') out = out.slice(0, at + m.length) + out.slice(at, at + m.length) + out.slice(at);
    else out = out.slice(0, at) + m.junk + out.slice(at + m.junk.length);
  }
  return out;
}

function mutated(sources: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...sources), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([xml, ms]) => mutate(xml, ms));
}

/** A parse result as the harvester and the CLI read it: every record identified, every skip explained. */
function expectWellShaped(result: LidoParseResult): void {
  expect(Array.isArray(result.records) && Array.isArray(result.skipped) && Array.isArray(result.documentErrors)).toBe(true);
  for (const entry of result.records) expect(typeof entry.record.recordId).toBe('string');
  for (const skipped of result.skipped) expect(skipped.reason.length).toBeGreaterThan(0);
}

function expectOaiContract(xml: string): void {
  try {
    const response = parseOaiResponse(xml);
    expect(Array.isArray(response.records)).toBe(true);
    for (const record of response.records) expect(typeof record.header.identifier).toBe('string');
  } catch (error) {
    if (!(error instanceof OaiProtocolError)) throw new Error(`parseOaiResponse threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    expect(error.message.length).toBeGreaterThan(0);
  }
}

const arbitraryText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.array(fc.oneof(fc.constantFrom(...JUNK), fc.string({ unit: 'binary-ascii', maxLength: 8 })), { maxLength: 40 }).map((parts) => parts.join('')),
);

describe('fixtures', () => {
  it('there are real documents, envelopes and records to mutate', () => {
    expect(DOCUMENTS.length).toBeGreaterThanOrEqual(8);
    expect(ENVELOPES.length).toBeGreaterThanOrEqual(3);
    expect(RECORDS.length).toBeGreaterThanOrEqual(5);
  });
});

describe('arbitrary strings', () => {
  it('parseLidoDocument, mapLidoRecord, parseOaiResponse and readWellFormedXml keep their contracts', () => {
    fc.assert(
      fc.property(arbitraryText, (text) => {
        expectWellShaped(parseLidoDocument(text));
        const mapped = mapLidoRecord(text);
        if (!mapped.ok) expect(mapped.skipped.reason.length).toBeGreaterThan(0);
        expectOaiContract(text);
        const tree = readWellFormedXml(text, (n) => n);
        expect(tree === undefined || typeof tree === 'object').toBe(true);
      }),
      runs(3000, { shrink: true }),
    );
  });
});

describe('mutated real records', () => {
  it('parseLidoDocument of a damaged document: records or skipped entries with reasons, never a throw', () => {
    fc.assert(
      fc.property(mutated(DOCUMENTS), (xml) => expectWellShaped(parseLidoDocument(xml))),
      runs(400, { shrink: true }),
    );
  });

  it('mapLidoRecord of a damaged record: a record or a skip with a reason (also when told it is well-formed)', () => {
    fc.assert(
      fc.property(mutated(RECORDS), fc.boolean(), (xml, wellFormed) => {
        const mapped = mapLidoRecord(xml, undefined, { wellFormed });
        if (mapped.ok) expect(typeof mapped.record.recordId).toBe('string');
        else expect(mapped.skipped.reason.length).toBeGreaterThan(0);
      }),
      runs(1500, { shrink: true }),
    );
  });

  it('parseOaiResponse of a damaged envelope: a response or OaiProtocolError', () => {
    fc.assert(
      fc.property(mutated(ENVELOPES), (xml) => expectOaiContract(xml)),
      runs(600, { shrink: true }),
    );
  });

  it('the fast reader of a damaged record: a tree or undefined', () => {
    fc.assert(
      fc.property(mutated(RECORDS), (xml) => {
        const tree = readWellFormedXml(xml, (n) => n);
        expect(tree === undefined || typeof tree === 'object').toBe(true);
      }),
      runs(3000, { shrink: true }),
    );
  });
});

describe('values the mirror cannot key', () => {
  it('a record whose id is over 1024 bytes is skipped with the reason (DynamoDB refuses keys over 2048 bytes)', () => {
    const record = RECORDS.find((xml) => /<(\w+:)?lidoRecID[^>]*pref="preferred"[^>]*>[^<]+</.test(xml))!;
    for (const [padding, kept] of [['€'.repeat(300), true], ['€'.repeat(400), false], ['\u{1F600}'.repeat(400), false]] as const) {
      const xml = record.replace(/(<(\w+:)?lidoRecID[^>]*pref="preferred"[^>]*>)([^<]+)</, (_m, open: string, _p, id: string) => `${open}${id}${padding}<`);
      const mapped = mapLidoRecord(xml);
      expect(mapped.ok, padding.slice(0, 2)).toBe(kept);
      if (!mapped.ok) expect(mapped.skipped.reason).toMatch(/record id is longer than 1024 bytes/);
    }
  });
});

describe('memory', () => {
  it('thousands of parses of damaged documents leave the heap where it was', () => {
    const documents = fc.sample(mutated(DOCUMENTS), { numRuns: 300, seed: 42 });
    const parseAll = () => {
      for (const xml of documents) {
        parseLidoDocument(xml);
        try {
          parseOaiResponse(xml);
        } catch {
          // refusals are the point
        }
      }
    };
    parseAll(); // warm-up: caches, compiled code, interned names
    const before = heapUsed();
    for (let round = 0; round < 5; round++) parseAll();
    const growth = heapUsed() - before;
    // 1500 parses of documents up to 200 KB: retaining even a tenth of each would add well over 100 MB.
    expect(growth, `heap grew by ${(growth / MB).toFixed(1)} MB`).toBeLessThan(32 * MB);
  }, 120_000);
});
