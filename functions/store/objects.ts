/**
 * Object summaries: one small item per object that has a manifest, kept in step with its record and its images so
 * collections can list objects without joining records and images at request time.
 *
 *   object summary   pk = OBJECT#{objectId}            sk = OBJECT
 *     objectId, institutionKey, recordId, label, institutionLabel, images (ready images), thumbnail (the first
 *     image's identifier and published pyramid), modified; and, only while the object has a manifest (an active
 *     record and at least one ready image), `collectionKey` = institutionKey: that puts it in the sparse
 *     `byCollection` index (collectionKey + objectId), which collection pages query in object id order.
 *   institution      pk = INSTITUTION#{institutionKey} sk = INSTITUTION
 *     institutionKey, label, homepage; `collectionKey` = `#institutions`, `objectId` = institutionKey: the top
 *     collection's entries, in the same index.
 *
 * Refreshed, whichever arrives first, by the record store's and image store's change listeners (harvest, ingest):
 * a refresh recomputes the summary from the record and images as they are, so refreshes are idempotent and the
 * last one wins with the truth. What a writer has just written is passed in, because the lookup indexes it reads
 * are eventually consistent. A record and its image landing within the same second could each miss the other;
 * a manifest request repairs the summary it finds out of step (see functions/presentation/).
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { orderImages } from '../core/canvas-order.ts';
import type { ImageItem, PublishedPyramid } from '../core/image-item.ts';
import { institutionLabel, manifestLabel, objectIdFor, parseObjectId } from '../core/presentation.ts';
import type { LanguageMap, MappedRecord } from '../core/record.ts';
import { recordKeys } from '../core/record-keys.ts';
import type { ImageItems } from './image-items.ts';
import { queryAll } from './query.ts';
import type { MirroredRecord, RecordChange, RecordStore } from './records.ts';

export const COLLECTION_INDEX = 'byCollection';
const INSTITUTIONS = '#institutions';

export interface ObjectSummary {
  objectId: string;
  institutionKey: string;
  recordId: string;
  label: LanguageMap;
  institutionLabel: LanguageMap;
  /** Ready images. */
  images: number;
  thumbnail?: { identifier: string; published: PublishedPyramid };
  /** ISO time of the latest change to the record or its images. */
  modified: string;
  /** True while the object has a manifest (active record, at least one ready image). */
  listed: boolean;
}

export interface InstitutionEntry {
  institutionKey: string;
  label: LanguageMap;
  homepage?: string;
}

/** The object's record and ready images, as a manifest is built from them. */
export interface ObjectParts {
  record: MirroredRecord & { record: MappedRecord };
  /** The ready images the public may know of, in canvas order: private ones are left out (core/access-policy.ts). */
  images: ImageItem[];
  /** Ready images left out because they are private: counted, never described. */
  withheld: number;
}

const summaryKey = (objectId: string) => ({ pk: `OBJECT#${objectId}`, sk: 'OBJECT' });
const institutionItemKey = (institutionKey: string) => ({ pk: `INSTITUTION#${institutionKey}`, sk: 'INSTITUTION' });

export class ObjectSummaries {
  constructor(
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly records: RecordStore,
    readonly images: ImageItems,
  ) {}

  /**
   * The record an object id names and its ready images in canvas order. Several active records with one object
   * number at one institution (a re-keyed export) resolve to the one with the latest datestamp.
   */
  async parts(objectId: string, known: { record?: MirroredRecord; image?: ImageItem } = {}): Promise<ObjectParts | undefined> {
    const parsed = parseObjectId(objectId);
    if (!parsed) return undefined;
    const candidates: MirroredRecord[] = [];
    for await (const record of this.records.findByObjectNumber(parsed.institution, parsed.objectNumber)) candidates.push(record);
    if (known.record) {
      const at = candidates.findIndex((c) => c.recordId === known.record!.recordId);
      if (at >= 0) candidates.splice(at, 1);
      if (known.record.status === 'active') candidates.push(known.record);
    }
    const record = candidates
      .filter((c): c is ObjectParts['record'] => c.record !== undefined && objectIdFor(c.record) === objectId)
      .sort((a, b) => b.datestamp.localeCompare(a.datestamp) || a.recordId.localeCompare(b.recordId))[0];
    if (!record) return undefined;
    let images = await this.records.imagesForRecord(record.record);
    if (known.image) {
      const fresh = known.image;
      const at = images.findIndex((image) => image.identifier === fresh.identifier);
      if (at >= 0) images[at] = fresh;
      else if (fresh.status === 'ready') images = orderImages(record.record, [...images, fresh]);
    }
    const ready = images.filter((image) => image.status === 'ready' && image.published !== undefined);
    const visible = ready.filter((image) => image.published!.access?.policy !== 'private');
    return { record, images: visible, withheld: ready.length - visible.length };
  }

  async get(objectId: string): Promise<ObjectSummary | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: summaryKey(objectId) }));
    return out.Item ? toSummary(out.Item) : undefined;
  }

  /** Recompute an object's summary from its record and images; removes it when the object has no record. */
  async refresh(objectId: string, known: { record?: MirroredRecord; image?: ImageItem } = {}): Promise<ObjectSummary | undefined> {
    const parts = await this.parts(objectId, known);
    if (!parts) {
      await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: summaryKey(objectId) }));
      return undefined;
    }
    const summary = summarise(objectId, parts);
    await this.write(summary);
    if (summary.listed) await this.writeInstitution(parts.record.record, summary.institutionKey);
    return summary;
  }

  /** Write a summary computed elsewhere (the read repair of a manifest request). */
  async write(summary: ObjectSummary): Promise<void> {
    await this.db.send(new PutCommand({
      TableName: this.tableName,
      Item: {
        ...summaryKey(summary.objectId),
        ...JSON.parse(JSON.stringify(summary)),
        ...(summary.listed ? { collectionKey: summary.institutionKey } : {}),
      },
    }));
  }

  /** The record store's change listener. */
  async recordChanged(change: RecordChange): Promise<void> {
    const mirrored = await this.records.get(change.recordId);
    const record = mirrored?.record ?? change.record;
    const objectId = record ? objectIdFor(record) : undefined;
    if (objectId && mirrored) await this.refresh(objectId, { record: mirrored });
  }

  /** The image store's change listener: every object whose record the image links to. */
  async imageChanged(identifier: string): Promise<void> {
    const image = await this.images.get(identifier, { consistent: true });
    if (!image) return;
    for (const record of await this.records.recordsForImage(image.links)) {
      const objectId = record.record ? objectIdFor(record.record) : undefined;
      if (objectId) await this.refresh(objectId, { image });
    }
  }

  /** One page of an institution's listed objects, in object id order, from `after` (exclusive). */
  async listCollection(institutionKey: string, options: { from?: string; limit: number }): Promise<ObjectSummary[]> {
    const out = await this.db.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: COLLECTION_INDEX,
      KeyConditionExpression: options.from ? 'collectionKey = :c AND objectId >= :from' : 'collectionKey = :c',
      ExpressionAttributeValues: { ':c': institutionKey, ...(options.from ? { ':from': options.from } : {}) },
      Limit: options.limit,
    }));
    return (out.Items ?? []).map(toSummary);
  }

  /** The first object id of every page of `pageSize` objects: reads the institution's index entries' keys only. */
  async pageStarts(institutionKey: string, pageSize: number): Promise<{ starts: string[]; total: number }> {
    const starts: string[] = [];
    let total = 0;
    for await (const item of queryAll(this.db, this.tableName, {
      IndexName: COLLECTION_INDEX,
      KeyConditionExpression: 'collectionKey = :c',
      ProjectionExpression: 'objectId',
      ExpressionAttributeValues: { ':c': institutionKey },
    })) {
      if (total % pageSize === 0) starts.push(String(item.objectId));
      total++;
    }
    return { starts, total };
  }

  async institutions(): Promise<InstitutionEntry[]> {
    const found: InstitutionEntry[] = [];
    for await (const item of queryAll(this.db, this.tableName, {
      IndexName: COLLECTION_INDEX,
      KeyConditionExpression: 'collectionKey = :c',
      ExpressionAttributeValues: { ':c': INSTITUTIONS },
    })) {
      found.push(toInstitution(String(item.institutionKey), item));
    }
    return found;
  }

  async institution(institutionKey: string): Promise<InstitutionEntry | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: institutionItemKey(institutionKey) }));
    return out.Item ? toInstitution(institutionKey, out.Item) : undefined;
  }

  private async writeInstitution(record: MappedRecord, institutionKey: string): Promise<void> {
    const institution = record.institution;
    await this.db.send(new PutCommand({
      TableName: this.tableName,
      Item: {
        ...institutionItemKey(institutionKey),
        institutionKey,
        label: institutionLabel(record, institutionKey),
        ...(institution?.weblink ? { homepage: institution.weblink } : {}),
        collectionKey: INSTITUTIONS,
        objectId: institutionKey,
      },
    }));
  }
}

/** What a collection needs to know of an object, from its parts. */
export function summarise(objectId: string, parts: ObjectParts): ObjectSummary {
  const { record, images } = parts;
  const mapped = record.record;
  const institutionKey = recordKeys(mapped).institutionKey ?? objectId.split(':')[0]!;
  const modified = [record.updatedAt, ...images.map((image) => image.publishedAt ?? image.updatedAt)].sort().at(-1) ?? record.updatedAt;
  const first = images[0];
  return {
    objectId,
    institutionKey,
    recordId: record.recordId,
    label: manifestLabel(mapped, objectId),
    institutionLabel: institutionLabel(mapped, institutionKey),
    images: images.length,
    ...(first?.published ? { thumbnail: { identifier: first.identifier, published: first.published } } : {}),
    modified,
    listed: images.length > 0,
  };
}

function toInstitution(institutionKey: string, raw: Record<string, unknown>): InstitutionEntry {
  return {
    institutionKey,
    label: (raw.label ?? {}) as LanguageMap,
    ...(typeof raw.homepage === 'string' ? { homepage: raw.homepage } : {}),
  };
}

function toSummary(raw: Record<string, unknown>): ObjectSummary {
  const { pk: _pk, sk: _sk, collectionKey: _c, ...rest } = raw;
  return rest as unknown as ObjectSummary;
}
