import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { incrementalFrom, OaiProtocolError, oaiRequestUrl, parseOaiResponse } from '../../functions/core/oai-pmh.ts';

const ENVELOPES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/datahub/oai-pmh-reconstructed');
const haveShared = existsSync(ENVELOPES);
if (!haveShared) console.warn(`skipping the real OAI-PMH envelopes: ${ENVELOPES} is absent`);
const envelope = (name: string) => readFileSync(join(ENVELOPES, name), 'utf8');

describe('oaiRequestUrl', () => {
  it('builds list requests, and sends a resumption token alone as the protocol demands', () => {
    expect(oaiRequestUrl('https://datahub.example/oai', 'ListRecords', { metadataPrefix: 'oai_lido', set: 'institution:msk', from: '2024-01-01T00:00:00Z' })).toBe(
      'https://datahub.example/oai?verb=ListRecords&metadataPrefix=oai_lido&set=institution%3Amsk&from=2024-01-01T00%3A00%3A00Z',
    );
    expect(oaiRequestUrl('https://datahub.example/oai?x=1', 'ListRecords', { metadataPrefix: 'oai_lido', resumptionToken: 'eyJvZmZzZXQiOjI1fQ==' })).toBe(
      'https://datahub.example/oai?verb=ListRecords&resumptionToken=eyJvZmZzZXQiOjI1fQ%3D%3D',
    );
  });
});

describe('incrementalFrom', () => {
  it('steps back by the overlap at the repository granularity', () => {
    const start = new Date('2026-11-24T10:00:00.123Z');
    expect(incrementalFrom(start, 'YYYY-MM-DDThh:mm:ssZ', 3600)).toBe('2026-11-24T09:00:00Z');
    expect(incrementalFrom(new Date('2026-11-24T00:30:00Z'), 'YYYY-MM-DD', 3600)).toBe('2026-11-23');
  });
});

describe('parseOaiResponse', () => {
  it('rejects what is not OAI-PMH', () => {
    expect(() => parseOaiResponse('<html><body>502</body></html>')).toThrow(OaiProtocolError);
    expect(() => parseOaiResponse('<OAI-PMH><ListRecords><record>')).toThrow(OaiProtocolError);
  });

  it('reads deleted headers and tokens with their attributes', () => {
    const response = parseOaiResponse(`<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z</responseDate>
      <ListRecords><record><header status="deleted"><identifier>oai:x:1</identifier><datestamp>2025-12-31T00:00:00Z</datestamp></header></record>
      <record><header><identifier>oai:x:2</identifier><datestamp>2025-12-30T00:00:00Z</datestamp><setSpec>a</setSpec></header><metadata><lido:lido xmlns:lido="http://www.lido-schema.org"><lido:lidoRecID>2 &amp; 3</lido:lidoRecID></lido:lido></metadata></record>
      <resumptionToken completeListSize="60" cursor="25" expirationDate="2026-01-02T00:00:00Z">abc</resumptionToken></ListRecords></OAI-PMH>`);
    expect(response.records).toHaveLength(2);
    expect(response.records[0]).toEqual({ header: { identifier: 'oai:x:1', datestamp: '2025-12-31T00:00:00Z', setSpecs: [], deleted: true } });
    // The record as sent, entities and namespace declarations included.
    expect(response.records[1]!.metadata).toBe('<lido:lido xmlns:lido="http://www.lido-schema.org"><lido:lidoRecID>2 &amp; 3</lido:lidoRecID></lido:lido>');
    expect(response.resumptionToken).toEqual({ value: 'abc', completeListSize: 60, cursor: 25, expirationDate: '2026-01-02T00:00:00Z' });
  });

  describe.skipIf(!haveShared)('the data hub envelopes', () => {
    it('pages ListRecords: headers, set specs, verbatim LIDO and the next token', () => {
      const page = parseOaiResponse(envelope('ListRecords-page1.xml'));
      expect(page.errors).toEqual([]);
      expect(page.records.length).toBeGreaterThan(0);
      const first = page.records[0]!;
      expect(first.header).toMatchObject({ identifier: 'oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A', datestamp: '2019-07-31T21:30:12Z', deleted: false });
      expect(first.header.setSpecs).toContain('institution:museum_voor_schone_kunsten_gent');
      expect(first.metadata).toMatch(/^<lido:lido [^>]*xmlns:lido="http:\/\/www.lido-schema.org"/);
      expect(first.metadata).toMatch(/<\/lido:lido>$/);
      expect(page.resumptionToken?.value).toMatch(/^[A-Za-z0-9+/=]+$/);
    });

    it('recognises the last page by its empty token', () => {
      const last = parseOaiResponse(envelope('ListRecords-lastpage.xml'));
      expect(last.resumptionToken).toEqual({ value: '', completeListSize: 16000 });
    });

    it('reads errors, ListIdentifiers and Identify', () => {
      expect(parseOaiResponse(envelope('error-badResumptionToken.xml')).errors).toEqual([
        { code: 'badResumptionToken', message: 'An invalid resumptionToken was given' },
      ]);
      const identifiers = parseOaiResponse(envelope('ListIdentifiers-page1.xml'));
      expect(identifiers.records).toEqual([]);
      expect(identifiers.headers[0]?.identifier).toBe('oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A');
      expect(parseOaiResponse(envelope('Identify.xml')).identify).toMatchObject({ granularity: 'YYYY-MM-DDThh:mm:ssZ', deletedRecord: 'no', repositoryName: 'Datahub' });
    });
  });
});
