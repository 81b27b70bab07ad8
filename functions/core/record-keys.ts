/**
 * The lookup keys that let an image and its data-hub record find each other, whichever arrived first: both kinds of
 * item carry the same generic attributes, computed here from what each knows (a record from its LIDO fields, an
 * image from its link hints), and the table indexes them (functions/store/records.ts). No write-time coordination,
 * no transactions: a lookup simply finds whatever carries the same key at the time.
 *
 *   dataPidKey   normalised data PID      (`mskgent.be/collection/work/data/1829-A`)
 *   workPidKey   normalised work PID      (`mskgent.be/collection/work/id/1829-A`)
 *   objectKey    `{institutionKey}#{cleanObjectNumber(objectNumber)}` (`groeningemuseum.be#0000_GRO0208_I`), so an
 *                object number written either way (`0000.GRO0208.I`, `0000_GRO0208_I`) finds the same items
 *   institutionKey  the institution's domain without `www.` (`mskgent.be`), as the ingest bucket's first folder names it
 *
 * Pure: no AWS, no I/O.
 */
import type { LinkHints } from './image-item.ts';
import { cleanObjectNumber, type MappedRecord } from './record.ts';

/**
 * Longer values are not lookup keys but garbage: they are left unindexed. Counted in UTF-8 bytes, as DynamoDB caps
 * index keys (2048 bytes for a partition key): 1024 characters of `€` are 3072 bytes, and a record carrying such a
 * PID made every write of it fail with a ValidationException.
 */
const MAX_KEY_BYTES = 1024;

export interface LinkKeys {
  dataPidKey?: string;
  workPidKey?: string;
  objectKey?: string;
}

export interface RecordKeys extends LinkKeys {
  institutionKey?: string;
}

/**
 * A PID as a lookup key: http and https are the same PID, scheme and host are case-insensitive, a trailing slash
 * is noise. The path keeps its case (`1829-A` and `1829-a` are different PURLs). Not a URL: trimmed, as written.
 */
export function pidKey(pid: string | undefined): string | undefined {
  const value = pid?.trim();
  if (!value) return undefined;
  const url = /^https?:\/\/([^/?#]+)(.*)$/i.exec(value);
  const key = url ? `${url[1]!.toLowerCase()}${url[2]!.replace(/\/+$/, '')}` : value;
  return bounded(key);
}

/**
 * An institution as a lookup key: the host of a URL, or a bare domain (`mskgent.be`, `www.MSKGent.be`), lower-case
 * and without `www.`. Other names (a folder called `scans`) are kept, lower-cased, so they still match themselves.
 */
export function institutionKey(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  const host = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]+)/i.exec(trimmed)?.[1] ?? trimmed;
  const key = host
    .replace(/^[^@]*@/, '')
    .replace(/:\d+$/, '')
    .toLowerCase()
    .replace(/^www\./, '');
  return key ? bounded(key) : undefined;
}

/** The institution in a VKC-style record id `oai:{hub}:{institution}:{number}` (`oai:datahub…:mskgent.be:1829-A`). */
export function institutionFromRecordId(recordId: string): string | undefined {
  const parts = recordId.split(':');
  if (parts.length < 4 || parts[0]!.toLowerCase() !== 'oai') return undefined;
  return institutionKey(parts[2]);
}

/** `{institutionKey}#{cleaned object number}`; absent without either. */
export function objectKey(institution: string | undefined, objectNumber: string | undefined): string | undefined {
  const inst = institutionKey(institution);
  const number = objectNumber ? cleanObjectNumber(objectNumber) : '';
  return inst && number ? bounded(`${inst}#${number}`) : undefined;
}

/** A record's keys. The institution is the host of its work PID, else its data PID, else from its record id. */
export function recordKeys(record: Pick<MappedRecord, 'recordId' | 'dataPid' | 'workPid' | 'objectNumber'>): RecordKeys {
  const institution = hostKey(record.workPid) ?? hostKey(record.dataPid) ?? institutionFromRecordId(record.recordId);
  return compact({
    institutionKey: institution,
    dataPidKey: pidKey(record.dataPid),
    workPidKey: pidKey(record.workPid),
    objectKey: objectKey(institution, record.objectNumber),
  });
}

/**
 * An image's keys from its link hints. The institution is the hint (the key's first folder or S3 metadata), else the
 * host of a PID the image carries: a master at the bucket's root with a `data-pid` still finds its object.
 */
export function imageKeys(links: LinkHints): LinkKeys {
  const institution = institutionKey(links.institution) ?? hostKey(links.workPid) ?? hostKey(links.dataPid);
  return compact({
    dataPidKey: pidKey(links.dataPid),
    workPidKey: pidKey(links.workPid),
    objectKey: objectKey(institution, links.objectNumber),
  });
}

function hostKey(pid: string | undefined): string | undefined {
  return pid && /^https?:\/\//i.test(pid.trim()) ? institutionKey(pid) : undefined;
}

function bounded(key: string): string | undefined {
  return Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES ? key : undefined;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
