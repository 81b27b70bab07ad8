import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapLidoRecord } from '../../functions/core/lido.ts';
import { cleanObjectNumber } from '../../functions/core/record.ts';
import { imageKeys, institutionFromRecordId, institutionKey, objectKey, pidKey, recordKeys } from '../../functions/core/record-keys.ts';
import { defaultSourceId } from '../../functions/harvest/harvest.ts';
import { repositoryUrlOf } from '../../functions/core/mirror.ts';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/datahub/vkc-imagehub-fixes');

describe('pidKey', () => {
  it('treats http and https, the case of scheme and host, and trailing slashes as the same PID', () => {
    const key = 'mskgent.be/collection/work/data/1829-A';
    for (const pid of [
      'http://mskgent.be/collection/work/data/1829-A',
      'https://mskgent.be/collection/work/data/1829-A',
      'HTTPS://MSKGent.BE/collection/work/data/1829-A/',
      '  http://mskgent.be/collection/work/data/1829-A//  ',
    ]) {
      expect(pidKey(pid), pid).toBe(key);
    }
  });

  it('keeps the path\'s case, and takes other identifiers as written', () => {
    expect(pidKey('http://mskgent.be/collection/work/data/1829-a')).not.toBe(pidKey('http://mskgent.be/collection/work/data/1829-A'));
    expect(pidKey('urn:nbn:be:1829-A')).toBe('urn:nbn:be:1829-A');
    expect(pidKey('   ')).toBeUndefined();
    expect(pidKey(undefined)).toBeUndefined();
    expect(pidKey(`http://x.be/${'a'.repeat(2000)}`)).toBeUndefined();
  });

  it('property: the scheme, the host\'s case and trailing slashes never change the key', () => {
    const host = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}\.(be|org|com)$/);
    const path = fc.stringMatching(/^(\/[A-Za-z0-9_.-]{1,12}){0,4}$/);
    fc.assert(
      fc.property(host, path, fc.constantFrom('http', 'https', 'HTTP', 'Https'), fc.nat(3), (h, p, scheme, slashes) => {
        expect(pidKey(`${scheme}://${h.toUpperCase()}${p}${'/'.repeat(slashes)}`)).toBe(pidKey(`http://${h}${p}`));
      }),
    );
  });
});

describe('institutionKey', () => {
  it('is the domain, lower-case, without www., from a URL or as a folder names it', () => {
    expect(institutionKey('mskgent.be')).toBe('mskgent.be');
    expect(institutionKey('www.MSKGent.be')).toBe('mskgent.be');
    expect(institutionKey('http://www.mskgent.be/collection/work/id/1829-A')).toBe('mskgent.be');
    expect(institutionKey('https://user@kmska.be:8443/x')).toBe('kmska.be');
    expect(institutionKey('Scans')).toBe('scans');
    expect(institutionKey('')).toBeUndefined();
  });

  it('reads the institution from a VKC record id, and nothing from other ids', () => {
    expect(institutionFromRecordId('oai:datahub.vlaamsekunstcollectie.be:groeningemuseum.be:0000_GRO0208_I')).toBe('groeningemuseum.be');
    expect(institutionFromRecordId('oai:datahub.museabrugge.be:www.groeningemuseum.be:1')).toBe('groeningemuseum.be');
    expect(institutionFromRecordId('oai:datahub:1829-A')).toBeUndefined();
    expect(institutionFromRecordId('urn:x:y:z')).toBeUndefined();
  });
});

describe('objectKey', () => {
  it('finds an object number written as the museum writes it or in its cleaned PID form', () => {
    expect(objectKey('groeningemuseum.be', '0000.GRO0208.I')).toBe('groeningemuseum.be#0000_GRO0208_I');
    expect(objectKey('www.groeningemuseum.be', '0000_GRO0208_I')).toBe('groeningemuseum.be#0000_GRO0208_I');
    expect(objectKey('kmska.be', '1920-DA-1, 2, 3')).toBe(objectKey('kmska.be', '1920-DA-1_2_3'));
    expect(objectKey(undefined, '1829-A')).toBeUndefined();
    expect(objectKey('mskgent.be', '  ')).toBeUndefined();
  });

  it('property: cleaning first changes nothing (both forms meet)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (number) => {
        expect(objectKey('mskgent.be', cleanObjectNumber(number))).toBe(objectKey('mskgent.be', number));
      }),
    );
  });
});

describe('recordKeys and imageKeys', () => {
  const mapped = (file: string) => {
    const result = mapLidoRecord(readFileSync(join(FIXTURES, file), 'utf8'));
    if (!result.ok) throw new Error(result.skipped.reason);
    return result.record;
  };

  it('a real record: institution from its PIDs, both PIDs, object key from the raw object number', () => {
    const record = mapped('1LidoMulImage__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_groeningemuseum.be_0000_GRO0208_I.xml');
    expect(recordKeys(record)).toEqual({
      institutionKey: 'groeningemuseum.be',
      dataPidKey: 'groeningemuseum.be/collection/work/data/0000_GRO0208_I',
      workPidKey: 'groeningemuseum.be/collection/work/id/0000_GRO0208_I',
      objectKey: 'groeningemuseum.be#0000_GRO0208_I',
    });
  });

  it('a record without PIDs takes its institution from the record id', () => {
    expect(recordKeys({ recordId: 'oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A', objectNumber: '1829-A' })).toEqual({
      institutionKey: 'mskgent.be',
      objectKey: 'mskgent.be#1829-A',
    });
    expect(recordKeys({ recordId: 'local-7' })).toEqual({});
  });

  it('an image meets its record whichever hints it has', () => {
    const record = recordKeys(mapped('1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml'));
    // From the key `mskgent.be/1829-A.tif`.
    expect(imageKeys({ institution: 'mskgent.be', objectNumber: '1829-A' }).objectKey).toBe(record.objectKey);
    // S3 metadata with an https data PID, at the bucket's root: the institution comes from the PID.
    expect(imageKeys({ objectNumber: 'scan-17', dataPid: 'https://mskgent.be/collection/work/data/1829-A/' })).toEqual({
      dataPidKey: record.dataPidKey,
      objectKey: 'mskgent.be#scan-17',
    });
    expect(imageKeys({ objectNumber: 'scan-17', workPid: 'http://mskgent.be/collection/work/id/1829-A' }).workPidKey).toBe(record.workPidKey);
    expect(imageKeys({ objectNumber: 'scan-17' })).toEqual({});
  });
});

describe('defaultSourceId', () => {
  it('names a source by its base URL (scheme, host, path) and set, so its GetRecord URL can be derived', () => {
    expect(defaultSourceId('https://Datahub.VlaamseKunstcollectie.be/oai/')).toBe('https://datahub.vlaamsekunstcollectie.be/oai');
    expect(defaultSourceId('https://datahub.vlaamsekunstcollectie.be/oai', 'institution:msk')).toBe('https://datahub.vlaamsekunstcollectie.be/oai?set=institution:msk');
    expect(repositoryUrlOf(defaultSourceId('http://hub.example.org/oai', 'a:b'))).toBe('http://hub.example.org/oai');
    expect(repositoryUrlOf('file:records.xml')).toBeUndefined();
  });
});
