/**
 * The data-hub mirror in the metadata table: records, the harvest state, and the lookups that link records and
 * images. The only module that knows their DynamoDB attributes.
 *
 * Items (single table, partition key `pk`, sort key `sk`, next to the image items of functions/store/image-items.ts):
 *
 *   record          pk = RECORD#{recordId}   sk = RECORD
 *     recordId, status (`active` | `deleted`), datestamp (OAI header), contentHash (SHA-256 of the raw XML, hex),
 *     harvestSource (the harvest source id; not `source`, which image items use for their master's description),
 *     record (the MappedRecord of functions/core/record.ts), rights (the rights decision: uri?, source, reasoning),
 *     harvestedAt (when this version was fetched), updatedAt (last change of the item), deletedAt,
 *     rawXml (the record's XML as the repository sent it, gzip, binary) and rawXmlBytes (its size uncompressed).
 *     When the compressed XML would take the item past ~350 KB (DynamoDB's limit is 400 KB), it is left out and
 *     `rawXmlTooLarge` is true: the record's fields are still mirrored, and the XML can be fetched again from the
 *     repository with GetRecord.
 *   harvest state   pk = HARVEST#{source}    sk = STATE
 *     lastSuccess { startedAt, finishedAt, report }, running { startedAt, owner, mode, from?, set?, token?, pages,
 *     counts, skipped, checkpointAt, resumptions } while a run is unfinished, lastReconcile (its report).
 *
 * Lookup attributes and indexes (all projecting the whole item). Image items carry the first three as well, from
 * their link hints, so an image and its record find each other whichever arrived first, without transactions:
 *
 *   byDataPid      dataPidKey     + pk        record or image by data PID (http/https, case of host, trailing / ignored)
 *   byWorkPid      workPidKey     + pk        record or image by work PID
 *   byObject       objectKey      + pk        `{institutionKey}#{cleanObjectNumber(objectNumber)}`: by object number,
 *                                             written either way (`0000.GRO0208.I` or `0000_GRO0208_I`)
 *   byInstitution  institutionKey + recordId  an institution's records (`mskgent.be`: the PID host without www.,
 *                                             else the institution in `oai:{hub}:{institution}:{number}`)
 *   bySource       harvestSource  + recordId  a harvest source's records (the ListIdentifiers reconciliation)
 *   activity       activity = RECORD, activityAt = `{updatedAt}#{pk}`: records changed (or deleted) since a time
 *
 * A deleted record (an OAI deleted header, or gone from the repository's list at reconciliation) stays as a tombstone:
 * status `deleted`, fields and keys kept, so changedSince reports the deletion and an older version arriving later
 * is refused; the lookups return active records only.
 *
 * Writes are conditional on the OAI datestamp, so they are idempotent and an older version never overwrites a newer
 * one: a record is read first (a small consistent read of datestamp, hash and status) and then written only if it
 * is new, newer, or the same datestamp with other content (or a tombstone coming back); a harvest page's records are
 * read together, in one BatchGetItem. A write that loses a race re-reads and classifies again. Identical content is
 * not rewritten (a newer datestamp with identical content only advances the datestamp and does not count as a change).
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { orderImages } from '../core/canvas-order.ts';
import type { ImageItem, LinkHints } from '../core/image-item.ts';
import { RecordTooLargeError, type CheckpointProgress, type DeleteResult, type HarvestState, type RunningHarvest, type UpsertResult } from '../core/mirror.ts';
import type { MappedRecord } from '../core/record.ts';
import { imageKeys, institutionKey, objectKey, pidKey, recordKeys, type LinkKeys } from '../core/record-keys.ts';
import type { RightsDecision } from '../core/rights.ts';
import { tellListener, type ChangeListener } from './change-listener.ts';
import { ACTIVITY_INDEX, isImageItem, toImageItem } from './image-items.ts';
import { eachLimited } from '../core/concurrency.ts';
import { queryAll } from './query.ts';

export const RECORD_INDEXES = {
  byDataPid: 'byDataPid',
  byWorkPid: 'byWorkPid',
  byObject: 'byObject',
  byInstitution: 'byInstitution',
  bySource: 'bySource',
} as const;

const RECORD_PREFIX = 'RECORD#';
const RECORD_SK = 'RECORD';
const ACTIVITY = 'RECORD';
/** Whole item, raw XML included, stays below this (DynamoDB's item limit is 400 KB; keep room for attribute names). */
const RAW_XML_ITEM_BUDGET = 350_000;
/** A record whose mapped fields alone are this large cannot be stored at all. */
const MAX_ITEM_WITHOUT_XML = 390_000;
/** BatchGetItem's limit of keys per request. */
const MAX_BATCH_GET = 100;
/** Attempts at keys BatchGetItem leaves unprocessed (throttling) before giving up; back-off doubles from 50 ms. */
const BATCH_GET_ATTEMPTS = 8;
/**
 * Conditional writes of one {@link RecordStore.upsertMany} under way at once: enough to keep the table busy while
 * the harvester parses the next page.
 */
const WRITE_CONCURRENCY = 16;

const recordKey = (recordId: string) => ({ pk: `${RECORD_PREFIX}${recordId}`, sk: RECORD_SK });
const stateKey = (source: string) => ({ pk: `HARVEST#${source}`, sk: 'STATE' });

/** A record as the mirror holds it. */
export interface MirroredRecord {
  recordId: string;
  status: 'active' | 'deleted';
  datestamp: string;
  /** The harvest source that last wrote it. */
  source?: string;
  contentHash?: string;
  /** Absent for a tombstone of a record this mirror never held. */
  record?: MappedRecord;
  rights?: RightsDecision;
  institutionKey?: string;
  harvestedAt?: string;
  updatedAt: string;
  deletedAt?: string;
  /** Size of the raw XML, uncompressed. */
  rawXmlBytes?: number;
  /** The raw XML was too large to keep in the item; fetch it with GetRecord. */
  rawXmlTooLarge?: boolean;
}

/** One of a source's records, for the reconciliation. */
export interface SourceEntry {
  recordId: string;
  /** The identifier the repository serves it under, when it differs from nothing (it normally equals recordId). */
  oaiIdentifier?: string;
  datestamp: string;
}

type Raw = Record<string, unknown>;

/** What a version check reads of a record: small, so a page's worth fits one BatchGetItem. */
interface Version {
  datestamp: string;
  contentHash?: string;
  status: string;
}

/** One record version for {@link RecordStore.upsertMany}. */
export interface UpsertInput {
  record: MappedRecord;
  rawXml: string;
  rights: RightsDecision;
}

/** A record item ready to write but for its raw XML, which is compressed only if the item is written. */
interface PreparedItem {
  item: Raw;
  /** JSON size of the item without the raw XML. */
  size: number;
  rawXml: string;
  contentHash: string;
  /** The item with its raw XML, once made. */
  complete?: Raw;
}

/** A record version that was written: added, changed, revived or deleted (not `unchanged` or `stale`). */
export interface RecordChange {
  recordId: string;
  status: 'active' | 'deleted';
  /** The mapped record (for a deletion: the fields the mirror held, when known). */
  record?: MappedRecord;
}

/** Told after every write that changed a record (e.g. the object's Presentation summary, the access review). */
export type RecordStoreOptions = ChangeListener<RecordChange>;

export class RecordStore {
  constructor(
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly options: RecordStoreOptions = {},
  ) {}

  private async changed(change: RecordChange): Promise<void> {
    await tellListener(this.options, change);
  }

  /**
   * Store a harvested record version. `added` (new), `updated` (newer datestamp with other content, same datestamp
   * with other content, or a tombstone revived), `unchanged` (same content; not rewritten), `stale` (the mirror
   * holds a newer datestamp; nothing written). Throws {@link RecordTooLargeError} when the record cannot fit.
   */
  async upsert(record: MappedRecord, rawXml: string, rights: RightsDecision, source: string, now: string): Promise<UpsertResult> {
    return this.store(record, this.prepare(record, rawXml, rights, source, now), undefined);
  }

  /**
   * {@link upsert} for many record versions (a harvest page), with the same outcomes: their versions are read with
   * one consistent BatchGetItem instead of a GetItem each, then the new and changed ones are written, a few at a
   * time (unchanged and stale ones write nothing). Results in input order; a record that cannot fit gets its
   * {@link RecordTooLargeError} instead. Any other failure is thrown once the writes under way have settled, and no
   * write starts after it. `onWriting` is called once the versions are read and the writes under way: a harvester
   * reads its next page then, so that parsing it overlaps the table's work.
   */
  async upsertMany(
    inputs: UpsertInput[],
    source: string,
    now: string,
    options: { onWriting?: () => void } = {},
  ): Promise<(UpsertResult | RecordTooLargeError)[]> {
    const results: (UpsertResult | RecordTooLargeError)[] = new Array<UpsertResult | RecordTooLargeError>(inputs.length);
    const prepared: (PreparedItem | undefined)[] = inputs.map(({ record, rawXml, rights }, index) => {
      try {
        return this.prepare(record, rawXml, rights, source, now);
      } catch (error) {
        if (!(error instanceof RecordTooLargeError)) throw error;
        results[index] = error;
        return undefined;
      }
    });
    const pending = inputs.flatMap((_, index) => (prepared[index] ? [index] : []));
    const versions = await this.versions(pending.map((index) => inputs[index]!.record.recordId));
    const writing = eachLimited(pending, WRITE_CONCURRENCY, async (index) => {
      const { record } = inputs[index]!;
      results[index] = await this.store(record, prepared[index]!, versions.get(record.recordId) ?? null);
    });
    options.onWriting?.();
    await writing;
    return results;
  }

  /**
   * Write a prepared version if it is new or changed. `known` is the version already read (null: no item), or
   * undefined to read it here; a lost race always reads again.
   */
  private async store(record: MappedRecord, prepared: PreparedItem, known: Version | null | undefined): Promise<UpsertResult> {
    const datestamp = record.datestamp ?? '';
    const { contentHash } = prepared;
    const key = recordKey(record.recordId);
    // Three rounds at most: each lost race means another writer stored a version we then compare against.
    for (let round = 0; round < 3; round++) {
      // The first round takes the version already read, if any (null: no item); later ones read it again.
      const current = round === 0 && known !== undefined ? (known ?? undefined) : await this.version(record.recordId);
      if (current && current.datestamp > datestamp) return 'stale';
      if (current && current.status === 'active' && current.contentHash === contentHash) {
        if (current.datestamp === datestamp) return 'unchanged';
        // Republished without change: advance the datestamp (the staleness guard) but not updatedAt.
        if (await this.conditional(new UpdateCommand({
          TableName: this.tableName, Key: key,
          UpdateExpression: 'SET datestamp = :ds',
          ConditionExpression: 'datestamp < :ds AND contentHash = :h AND #status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':ds': datestamp, ':h': contentHash, ':active': 'active' },
        }))) return 'unchanged';
        continue;
      }
      const written = await this.conditional(new PutCommand({
        TableName: this.tableName,
        Item: (prepared.complete ??= withRawXml(prepared)),
        ConditionExpression: current
          ? 'datestamp < :ds OR (datestamp = :ds AND (contentHash <> :h OR attribute_not_exists(contentHash) OR #status = :deleted))'
          : 'attribute_not_exists(pk)',
        ...(current
          ? { ExpressionAttributeNames: { '#status': 'status' }, ExpressionAttributeValues: { ':ds': datestamp, ':h': contentHash, ':deleted': 'deleted' } }
          : {}),
      }));
      if (written) {
        await this.changed({ recordId: record.recordId, status: 'active', record });
        return current ? 'updated' : 'added';
      }
    }
    throw new Error(`record ${record.recordId} kept changing while it was written`);
  }

  /**
   * The repository withdrew the record: keep a tombstone (status `deleted`, fields kept) so consumers see the
   * deletion and an older version arriving later is refused. Conditional on the datestamp like {@link upsert}.
   * A record never seen gets a bare tombstone.
   */
  async markDeleted(recordId: string, datestamp: string, now: string, source?: string): Promise<DeleteResult> {
    const key = recordKey(recordId);
    for (let round = 0; round < 3; round++) {
      const current = await this.version(recordId);
      if (current && current.datestamp > datestamp) return 'stale';
      if (current?.status === 'deleted') return 'unchanged';
      const written = await this.conditional(new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression:
          'SET recordId = :id, #status = :deleted, datestamp = :ds, updatedAt = :now, deletedAt = :now, activity = :activity, activityAt = :at' +
          (source ? ', harvestSource = if_not_exists(harvestSource, :source)' : ''),
        ConditionExpression: current ? '#status = :active AND datestamp <= :ds' : 'attribute_not_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':id': recordId, ':deleted': 'deleted', ':ds': datestamp, ':now': now, ':activity': ACTIVITY, ':at': `${now}#${key.pk}`,
          ...(current ? { ':active': 'active' } : {}),
          ...(source ? { ':source': source } : {}),
        },
      }));
      if (written) {
        await this.changed({ recordId, status: 'deleted' });
        return 'deleted';
      }
    }
    throw new Error(`record ${recordId} kept changing while it was deleted`);
  }

  async get(recordId: string): Promise<MirroredRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: recordKey(recordId), ConsistentRead: true }));
    return out.Item ? toMirroredRecord(out.Item) : undefined;
  }

  /** The raw XML as harvested; undefined when absent or too large to have been kept. */
  async rawXml(recordId: string): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: recordKey(recordId), ProjectionExpression: 'rawXml' }));
    const raw = out.Item?.rawXml;
    return raw instanceof Uint8Array ? gunzipSync(raw).toString('utf8') : undefined;
  }

  /** Active records by data PID (http or https, with or without trailing slash). */
  findByDataPid(pid: string): AsyncIterable<MirroredRecord> {
    return this.recordsAt(RECORD_INDEXES.byDataPid, 'dataPidKey', pidKey(pid));
  }

  findByWorkPid(pid: string): AsyncIterable<MirroredRecord> {
    return this.recordsAt(RECORD_INDEXES.byWorkPid, 'workPidKey', pidKey(pid));
  }

  /** Active records of an institution (`mskgent.be`, `www.mskgent.be` or a URL) by object number in either form. */
  findByObjectNumber(institution: string, objectNumber: string): AsyncIterable<MirroredRecord> {
    return this.recordsAt(RECORD_INDEXES.byObject, 'objectKey', objectKey(institution, objectNumber));
  }

  /** An institution's active records, by record id (the index holds keys only: items are read in batches). */
  async *listInstitution(institution: string): AsyncIterable<MirroredRecord> {
    const value = institutionKey(institution);
    if (!value) return;
    let keys: Raw[] = [];
    const flush = async function* (this: RecordStore): AsyncIterable<MirroredRecord> {
      for (const raw of await this.items(keys)) {
        const record = toMirroredRecord(raw);
        if (record.status === 'active') yield record;
      }
      keys = [];
    };
    for await (const raw of this.query({
      IndexName: RECORD_INDEXES.byInstitution,
      KeyConditionExpression: 'institutionKey = :v',
      ExpressionAttributeValues: { ':v': value },
    })) {
      keys.push({ pk: raw.pk, sk: raw.sk });
      if (keys.length === MAX_BATCH_GET) yield* flush.call(this);
    }
    if (keys.length > 0) yield* flush.call(this);
  }

  /** Records changed or deleted at or after `isoTime` (their updatedAt), oldest first; deleted ones included. */
  async *changedSince(isoTime: string): AsyncIterable<MirroredRecord> {
    for await (const raw of this.query({
      IndexName: ACTIVITY_INDEX,
      KeyConditionExpression: 'activity = :activity AND activityAt >= :since',
      ExpressionAttributeValues: { ':activity': ACTIVITY, ':since': isoTime },
    })) {
      yield toMirroredRecord(raw);
    }
  }

  /** The active records a harvest source wrote, by record id: what the repository should still list. */
  async *listSourceIds(source: string): AsyncIterable<SourceEntry> {
    for await (const raw of this.query({
      IndexName: RECORD_INDEXES.bySource,
      KeyConditionExpression: 'harvestSource = :source',
      ProjectionExpression: 'recordId, datestamp, #status, oaiIdentifier',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':source': source },
    })) {
      if (raw.status !== 'active') continue;
      const oaiIdentifier = typeof raw.oaiIdentifier === 'string' ? raw.oaiIdentifier : undefined;
      yield { recordId: String(raw.recordId), datestamp: String(raw.datestamp ?? ''), ...(oaiIdentifier ? { oaiIdentifier } : {}) };
    }
  }

  /**
   * The images linked to a record (not deleted), in canvas order: images with an S3 `sort-number` hint first, by
   * that number; then images that match one of the record's representations (by PID, URL or resource id), in the
   * record's representation order; then by identifier (numbers in identifiers compared as numbers).
   */
  async imagesForRecord(record: Pick<MappedRecord, 'recordId' | 'dataPid' | 'workPid' | 'objectNumber' | 'representations'>): Promise<ImageItem[]> {
    const found = await this.linked(recordKeys(record), isImageItem);
    return orderImages(record, found.map(toImageItem).filter((image) => image.status !== 'deleted'));
  }

  /** The active records an image's link hints point to (by data PID, work PID, institution + object number). */
  async recordsForImage(links: LinkHints): Promise<MirroredRecord[]> {
    const found = await this.linked(imageKeys(links), (raw) => raw.sk === RECORD_SK);
    return found.map(toMirroredRecord).filter((record) => record.status === 'active');
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * The item of a record version, without its raw XML (compressed only when written). Throws
   * {@link RecordTooLargeError} when even that cannot fit.
   */
  private prepare(record: MappedRecord, rawXml: string, rights: RightsDecision, source: string, now: string): PreparedItem {
    const key = recordKey(record.recordId);
    // Plain data only: undefined members dropped whatever the client's marshalling options. The JSON is kept to
    // measure the item without serialising the record again.
    const recordJson = JSON.stringify(record);
    const rightsJson = JSON.stringify(rights);
    const item: Raw = {
      ...key,
      recordId: record.recordId,
      status: 'active',
      datestamp: record.datestamp ?? '',
      contentHash: createHash('sha256').update(rawXml).digest('hex'),
      harvestSource: source,
      // Top-level for the bySource index, which projects it (the reconciliation lists by OAI identifier).
      ...(record.oaiIdentifier ? { oaiIdentifier: record.oaiIdentifier } : {}),
      record: 0,
      rights: 0,
      harvestedAt: now,
      updatedAt: now,
      activity: ACTIVITY,
      activityAt: `${now}#${key.pk}`,
      rawXmlBytes: Buffer.byteLength(rawXml),
      ...recordKeys(record),
    };
    // JSON.stringify(item) with the record and rights in it: each placeholder 0 is one byte of that.
    const size = Buffer.byteLength(JSON.stringify(item)) - 2 + Buffer.byteLength(recordJson) + Buffer.byteLength(rightsJson);
    if (size > MAX_ITEM_WITHOUT_XML) throw new RecordTooLargeError(`the mapped record takes ${size} bytes, more than a DynamoDB item holds`);
    item.record = JSON.parse(recordJson) as unknown;
    item.rights = JSON.parse(rightsJson) as unknown;
    return { item, size, rawXml, contentHash: item.contentHash as string };
  }

  /** Whole items by key, in the order of `keys` (absent ones left out), at most {@link MAX_BATCH_GET} keys. */
  private async items(keys: Raw[]): Promise<Raw[]> {
    const found = new Map<string, Raw>();
    let pending = keys;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) {
        if (attempt > BATCH_GET_ATTEMPTS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed ${BATCH_GET_ATTEMPTS} times`);
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (attempt - 2)));
      }
      const out = await this.db.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending } } }));
      for (const raw of out.Responses?.[this.tableName] ?? []) found.set(`${String(raw.pk)}\n${String(raw.sk)}`, raw);
      pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return keys.map((key) => found.get(`${String(key.pk)}\n${String(key.sk)}`)).filter((raw): raw is Raw => raw !== undefined);
  }

  /** Versions of records by id (absent: no item), read consistently in BatchGetItems of up to 100 keys. */
  private async versions(recordIds: string[]): Promise<Map<string, Version>> {
    const found = new Map<string, Version>();
    // BatchGetItem refuses duplicate keys; a page may hold one record twice.
    const ids = [...new Set(recordIds)];
    for (let start = 0; start < ids.length; start += MAX_BATCH_GET) {
      let keys: Raw[] = ids.slice(start, start + MAX_BATCH_GET).map((id) => recordKey(id));
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > 1) {
          if (attempt > BATCH_GET_ATTEMPTS) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed ${BATCH_GET_ATTEMPTS} times`);
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (attempt - 2)));
        }
        const out = await this.db.send(new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: keys,
              ConsistentRead: true,
              ProjectionExpression: 'pk, datestamp, contentHash, #status',
              ExpressionAttributeNames: { '#status': 'status' },
            },
          },
        }));
        for (const raw of out.Responses?.[this.tableName] ?? []) found.set(String(raw.pk).slice(RECORD_PREFIX.length), toVersion(raw));
        // Throttled keys come back unprocessed: read them again after a pause.
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  private async version(recordId: string): Promise<Version | undefined> {
    const out = await this.db.send(new GetCommand({
      TableName: this.tableName,
      Key: recordKey(recordId),
      ConsistentRead: true,
      ProjectionExpression: 'datestamp, contentHash, #status',
      ExpressionAttributeNames: { '#status': 'status' },
    }));
    return out.Item ? toVersion(out.Item) : undefined;
  }

  /** Send a conditional write; false when its condition failed. */
  private async conditional(command: PutCommand | UpdateCommand): Promise<boolean> {
    try {
      if (command instanceof PutCommand) await this.db.send(command);
      else await this.db.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async *recordsAt(indexName: string, attribute: string, value: string | undefined): AsyncIterable<MirroredRecord> {
    if (!value) return;
    for await (const raw of this.query({
      IndexName: indexName,
      KeyConditionExpression: '#k = :v',
      ExpressionAttributeNames: { '#k': attribute },
      ExpressionAttributeValues: { ':v': value },
    })) {
      if (raw.sk !== RECORD_SK) continue; // images share the lookup indexes
      const record = toMirroredRecord(raw);
      if (record.status === 'active') yield record;
    }
  }

  /** Items of any kind sharing one of the link keys, each once, in index order. */
  private async linked(keys: LinkKeys, accept: (raw: Raw) => boolean): Promise<Raw[]> {
    const lookups: [string, string, string | undefined][] = [
      [RECORD_INDEXES.byDataPid, 'dataPidKey', keys.dataPidKey],
      [RECORD_INDEXES.byWorkPid, 'workPidKey', keys.workPidKey],
      [RECORD_INDEXES.byObject, 'objectKey', keys.objectKey],
    ];
    // The lookups are independent: in parallel, one round trip instead of three. Results keep index order.
    const results = await Promise.all(lookups.map(async ([indexName, attribute, value]) => {
      const items: Raw[] = [];
      if (!value) return items;
      for await (const raw of this.query({
        IndexName: indexName,
        KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': attribute },
        ExpressionAttributeValues: { ':v': value },
      })) {
        items.push(raw);
      }
      return items;
    }));
    const found = new Map<string, Raw>();
    for (const raw of results.flat()) if (accept(raw) && !found.has(String(raw.pk))) found.set(String(raw.pk), raw);
    return [...found.values()];
  }

  private query(input: Omit<QueryCommandInput, 'TableName'>): AsyncIterable<Raw> {
    return queryAll(this.db, this.tableName, input);
  }
}

function toVersion(raw: Raw): Version {
  return {
    datestamp: String(raw.datestamp ?? ''),
    status: String(raw.status ?? 'active'),
    ...(typeof raw.contentHash === 'string' ? { contentHash: raw.contentHash } : {}),
  };
}

/** The item to write: the raw XML compressed into it when it fits, else marked too large. */
function withRawXml({ item, size, rawXml }: PreparedItem): Raw {
  const compressed = gzipSync(rawXml);
  return size + compressed.length <= RAW_XML_ITEM_BUDGET ? { ...item, rawXml: compressed } : { ...item, rawXmlTooLarge: true };
}

function toMirroredRecord(raw: Raw): MirroredRecord {
  const text = (name: string) => (typeof raw[name] === 'string' ? { [name]: raw[name] as string } : {});
  return {
    recordId: String(raw.recordId),
    status: raw.status === 'deleted' ? 'deleted' : 'active',
    datestamp: String(raw.datestamp ?? ''),
    updatedAt: String(raw.updatedAt ?? ''),
    ...(typeof raw.harvestSource === 'string' ? { source: raw.harvestSource } : {}),
    ...text('contentHash'),
    ...(raw.record ? { record: raw.record as MappedRecord } : {}),
    ...(raw.rights ? { rights: raw.rights as RightsDecision } : {}),
    ...text('institutionKey'),
    ...text('harvestedAt'),
    ...text('deletedAt'),
    ...(typeof raw.rawXmlBytes === 'number' ? { rawXmlBytes: raw.rawXmlBytes } : {}),
    ...(raw.rawXmlTooLarge === true ? { rawXmlTooLarge: true } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Harvest state

/**
 * The harvest state item of each source. A run belongs to the invocation named in `running.owner` (its start
 * time and a random suffix); every checkpoint and the finish are conditional on it, so of two concurrent
 * invocations only one can advance: the other's next checkpoint fails and it stops.
 */
export class HarvestStateStore {
  constructor(
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(source: string): Promise<HarvestState> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: stateKey(source), ConsistentRead: true }));
    const item = out.Item ?? {};
    return {
      ...(item.lastSuccess ? { lastSuccess: item.lastSuccess as NonNullable<HarvestState['lastSuccess']> } : {}),
      ...(item.running ? { running: item.running as RunningHarvest } : {}),
      ...(item.lastReconcile ? { lastReconcile: item.lastReconcile as Record<string, unknown> } : {}),
    };
  }

  /** Begin a run; `replacing` names the owner of an unfinished run this one supersedes. False if another began. */
  async start(source: string, run: RunningHarvest, replacing?: string): Promise<boolean> {
    return this.conditional(new UpdateCommand({
      TableName: this.tableName,
      Key: stateKey(source),
      UpdateExpression: `SET running = :run, ${ACTIVITY_SET}`,
      ConditionExpression: replacing ? 'running.#owner = :previous' : 'attribute_not_exists(running)',
      ...(replacing ? { ExpressionAttributeNames: { '#owner': 'owner' } } : {}),
      ExpressionAttributeValues: { ':run': plain(run), ...activityValues(source, run.startedAt), ...(replacing ? { ':previous': replacing } : {}) },
    }));
  }

  /** Continue an unfinished run in this invocation. False if another invocation took it first. */
  async takeOver(source: string, previousOwner: string, owner: string, now: string): Promise<boolean> {
    return this.conditional(new UpdateCommand({
      TableName: this.tableName,
      Key: stateKey(source),
      UpdateExpression: 'SET running.#owner = :owner, running.checkpointAt = :now, running.resumptions = running.resumptions + :one',
      ConditionExpression: 'running.#owner = :previous',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': owner, ':previous': previousOwner, ':now': now, ':one': 1 },
    }));
  }

  /** Record progress after a page. False when the run no longer belongs to `owner` (it must stop). */
  async checkpoint(source: string, owner: string, progress: CheckpointProgress, now: string): Promise<boolean> {
    return this.conditional(new UpdateCommand({
      TableName: this.tableName,
      Key: stateKey(source),
      UpdateExpression:
        `SET running.pages = :pages, running.counts = :counts, running.skipped = :skipped, running.checkpointAt = :now, ${ACTIVITY_SET}` +
        (progress.token ? ', running.#token = :token' : ' REMOVE running.#token'),
      ConditionExpression: 'running.#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
      ExpressionAttributeValues: {
        ':owner': owner, ':pages': progress.pages, ':counts': plain(progress.counts), ':skipped': plain(progress.skipped), ':now': now,
        ...activityValues(source, now),
        ...(progress.token ? { ':token': progress.token } : {}),
      },
    }));
  }

  /** The run completed: it becomes the last success (the next incremental harvest starts from its start). */
  async finish(source: string, owner: string, success: NonNullable<HarvestState['lastSuccess']>): Promise<boolean> {
    return this.conditional(new UpdateCommand({
      TableName: this.tableName,
      Key: stateKey(source),
      UpdateExpression: `SET lastSuccess = :success, ${ACTIVITY_SET} REMOVE running`,
      ConditionExpression: 'running.#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': owner, ':success': plain(success), ...activityValues(source, success.finishedAt) },
    }));
  }

  async recordReconcile(source: string, report: object): Promise<void> {
    await this.db.send(new UpdateCommand({
      TableName: this.tableName,
      Key: stateKey(source),
      UpdateExpression: `SET lastReconcile = :report, ${ACTIVITY_SET}`,
      ExpressionAttributeValues: { ':report': plain(report), ...activityValues(source, new Date().toISOString()) },
    }));
  }

  /** Harvest sources by their latest activity (run started, page stored, finished, reconciled), newest first. */
  async recent(limit: number): Promise<(HarvestState & { source: string; activityAt: string })[]> {
    const out = await this.db.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: ACTIVITY_INDEX,
      KeyConditionExpression: 'activity = :activity',
      ExpressionAttributeValues: { ':activity': HARVEST_ACTIVITY },
      ScanIndexForward: false,
      Limit: limit,
    }));
    return (out.Items ?? []).map((item) => ({
      source: String(item.stateOf ?? String(item.pk).slice('HARVEST#'.length)),
      activityAt: String(item.activityAt ?? '').split('#')[0]!,
      ...(item.lastSuccess ? { lastSuccess: item.lastSuccess as NonNullable<HarvestState['lastSuccess']> } : {}),
      ...(item.running ? { running: item.running as RunningHarvest } : {}),
      ...(item.lastReconcile ? { lastReconcile: item.lastReconcile as Record<string, unknown> } : {}),
    }));
  }

  private async conditional(command: UpdateCommand): Promise<boolean> {
    try {
      await this.db.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/**
 * Harvest state items are in the `activity` index too (activity = HARVEST, activityAt = `{latest change}#{pk}`), so
 * the activity page and `imagehub status` list recent harvests next to recent ingests.
 */
const HARVEST_ACTIVITY = 'HARVEST';
const ACTIVITY_SET = 'activity = :activity, activityAt = :activityAt, stateOf = :sourceName';
function activityValues(source: string, at: string): Record<string, string> {
  return { ':activity': HARVEST_ACTIVITY, ':activityAt': `${at}#${stateKey(source).pk}`, ':sourceName': source };
}

/** Plain data for the document client: undefined members dropped. */
function plain(value: object): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
