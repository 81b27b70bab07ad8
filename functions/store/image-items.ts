/**
 * Image items and ingest refusals in the metadata table. The only module that knows their DynamoDB attributes.
 *
 * Table layout (shared with the data-hub mirror later): partition key `pk`, sort key `sk`.
 *   image item     pk = IMAGE#{identifier}   sk = IMAGE
 *   refusal        pk = REFUSAL#{sourceKey}  sk = REFUSAL
 * Both carry `activity` = INGEST and `activityAt` = `{updatedAt}#{pk}` for the `activity` index (recent ingests,
 * newest first), for the CLI and the activity page. Image items also carry the link keys `dataPidKey`, `workPidKey`
 * and `objectKey` from their link hints (functions/core/record-keys.ts), the attributes data-hub records carry too,
 * so an image and its record find each other through the `byDataPid`, `byWorkPid` and `byObject` indexes.
 *
 * Concurrency: `claim` records which upload (ETag) the current attempt works on; `publish` and `fail` only apply
 * when that attempt is still the latest, so a slow ingest of an old upload can never overwrite a newer one.
 * No transactions are used (the local DynamoDB stand-in has none).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { EmbeddedMetadata } from '../core/embedded-metadata.ts';
import type { ImageItem, IngestRefusal, LinkHints, PublishedPyramid, SourceDescription } from '../core/image-item.ts';
import { imageKeys } from '../core/record-keys.ts';
import { queryAll } from './query.ts';
import { tellListener, type ChangeListener } from './change-listener.ts';

export const ACTIVITY_INDEX = 'activity';
const ACTIVITY = 'INGEST';

export const IMAGE_PREFIX = 'IMAGE#';
const imageKey = (identifier: string) => ({ pk: `${IMAGE_PREFIX}${identifier}`, sk: 'IMAGE' });
const LINK_KEY_NAMES = ['dataPidKey', 'workPidKey', 'objectKey'] as const;

/** SET/REMOVE clauses writing the link keys of `links` (a key the hints no longer give is removed). */
function linkKeyClauses(links: LinkHints): { sets: string[]; removes: string[]; values: Record<string, string> } {
  const keys = imageKeys(links);
  const out = { sets: [] as string[], removes: [] as string[], values: {} as Record<string, string> };
  for (const name of LINK_KEY_NAMES) {
    const value = keys[name];
    if (value === undefined) {
      out.removes.push(name);
    } else {
      out.sets.push(`${name} = :${name}`);
      out.values[`:${name}`] = value;
    }
  }
  return out;
}
const refusalKey = (sourceKey: string) => ({ pk: `REFUSAL#${sourceKey}`, sk: 'REFUSAL' });

export type ClaimResult = { claimed: true; previous?: ImageItem } | { claimed: false; owner: string };

/** An image that became ready (published) or was deleted. */
export interface ImageChange {
  identifier: string;
  status: 'ready' | 'deleted';
}

/** Told after an image was published or deleted (e.g. to refresh its object's Presentation summary). */
export type ImageItemsOptions = ChangeListener<ImageChange>;

export class ImageItems {
  constructor(
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly options: ImageItemsOptions = {},
  ) {}

  private async changed(change: ImageChange): Promise<void> {
    await tellListener(this.options, change);
  }

  /**
   * Ingest reads consistently (it decides on what it reads); the Image API may read a second stale at half the cost,
   * as its answers are cached for minutes anyway.
   */
  async get(identifier: string, options: { consistent?: boolean } = {}): Promise<ImageItem | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: imageKey(identifier), ConsistentRead: options.consistent ?? true }),
    );
    return out.Item ? toImageItem(out.Item) : undefined;
  }

  /**
   * Take the identifier for `sourceKey` and mark it `processing` for the upload `attempt` (its ETag). Refused when
   * another, not deleted, source key owns the identifier. The published revision stays as it is.
   */
  async claim(identifier: string, sourceKey: string, attempt: string, links: LinkHints, now: string): Promise<ClaimResult> {
    const key = imageKey(identifier);
    const linkKeys = linkKeyClauses(links);
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression:
            'SET identifier = :id, sourceKey = :key, #status = :processing, attempt = :attempt, links = :links, ' +
            'updatedAt = :now, createdAt = if_not_exists(createdAt, :now), activity = :activity, activityAt = :activityAt' +
            linkKeys.sets.map((clause) => `, ${clause}`).join('') +
            ` REMOVE ${['reason', ...linkKeys.removes].join(', ')}`,
          ConditionExpression: 'attribute_not_exists(pk) OR sourceKey = :key OR #status = :deleted',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':id': identifier,
            ':key': sourceKey,
            ':processing': 'processing',
            ':deleted': 'deleted',
            ':attempt': attempt,
            ':links': links,
            ':now': now,
            ':activity': ACTIVITY,
            ':activityAt': `${now}#${key.pk}`,
            ...linkKeys.values,
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const previous = out.Attributes ? toImageItem(out.Attributes) : undefined;
      return previous ? { claimed: true, previous } : { claimed: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const owner = (await this.get(identifier))?.sourceKey ?? 'another key';
        return { claimed: false, owner };
      }
      throw error;
    }
  }

  /** Mark the attempt ready with its published pyramid. False when a newer upload has taken over meanwhile. */
  async publish(
    identifier: string,
    attempt: string,
    fields: {
      source: SourceDescription;
      published: PublishedPyramid;
      superseded?: PublishedPyramid;
      embedded: EmbeddedMetadata;
      links: LinkHints;
      timings: Record<string, number>;
    },
    now: string,
  ): Promise<boolean> {
    const latest = await this.updateIfLatest(identifier, attempt, now, {
      status: 'ready',
      source: fields.source,
      published: fields.published,
      ...(fields.superseded ? { superseded: fields.superseded } : {}),
      embedded: fields.embedded,
      links: fields.links,
      timings: fields.timings,
      publishedAt: now,
    });
    if (latest) await this.changed({ identifier, status: 'ready' });
    return latest;
  }

  /** Mark the attempt failed with a reason. The previously published revision, if any, stays published. */
  async fail(identifier: string, attempt: string, reason: string, now: string, source?: Partial<SourceDescription>): Promise<boolean> {
    return this.updateIfLatest(identifier, attempt, now, { status: 'failed', reason, ...(source ? { failedSource: source } : {}) });
  }

  /**
   * Record that an ingest gave up on an operational fault (its message goes to the dead-letter queue), whatever
   * attempt is current: the uploader must see `failed` with the reason rather than `processing` forever.
   */
  async giveUp(identifier: string, sourceKey: string, reason: string, now: string): Promise<void> {
    const key = imageKey(identifier);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #status = :failed, reason = :reason, updatedAt = :now, activityAt = :activityAt',
          ConditionExpression: 'sourceKey = :key AND #status = :processing',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':failed': 'failed', ':processing': 'processing', ':reason': reason, ':now': now, ':key': sourceKey,
            ':activityAt': `${now}#${key.pk}`,
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** After the master was removed and its derivatives deleted. */
  async markDeleted(identifier: string, sourceKey: string, now: string): Promise<boolean> {
    const key = imageKey(identifier);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          // `attempt` goes too: an ingest still rendering the removed master must not publish it afterwards (its
          // `publish` is conditional on its attempt still being the latest); without this a removal handled while
          // the upload's ingest ran (Lambda concurrency) ended with the deleted master `ready` again.
          UpdateExpression: 'SET #status = :deleted, updatedAt = :now, deletedAt = :now, activityAt = :activityAt REMOVE published, reason, attempt',
          ConditionExpression: 'sourceKey = :key',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':deleted': 'deleted', ':now': now, ':key': sourceKey, ':activityAt': `${now}#${key.pk}` },
        }),
      );
      await this.changed({ identifier, status: 'deleted' });
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async refuse(refusal: IngestRefusal): Promise<void> {
    const key = refusalKey(refusal.sourceKey);
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key, ...refusal, status: 'failed', activity: ACTIVITY, activityAt: `${refusal.at}#${key.pk}` },
      }),
    );
  }

  async getRefusal(sourceKey: string): Promise<IngestRefusal | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: refusalKey(sourceKey) }));
    if (!out.Item) return undefined;
    const { sourceKey: k, reason, identifier, at } = out.Item as IngestRefusal;
    return { sourceKey: k, reason, at, ...(identifier ? { identifier } : {}) };
  }

  async clearRefusal(sourceKey: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: refusalKey(sourceKey) }));
  }

  private async updateIfLatest(identifier: string, attempt: string, now: string, fields: Record<string, unknown>): Promise<boolean> {
    const key = imageKey(identifier);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':attempt': attempt, ':now': now, ':activityAt': `${now}#${key.pk}` };
    const sets = ['updatedAt = :now', 'activityAt = :activityAt'];
    for (const [name, value] of Object.entries(fields)) {
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
    const removes = fields.status === 'ready' ? ['reason', 'failedSource'] : [];
    if (fields.links) {
      // Publishing may add PIDs found in the embedded metadata: the link keys follow the hints.
      const linkKeys = linkKeyClauses(fields.links as LinkHints);
      sets.push(...linkKeys.sets);
      removes.push(...linkKeys.removes);
      Object.assign(values, linkKeys.values);
    }
    const removals = removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : '';
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${sets.join(', ')}${removals}`,
          ConditionExpression: 'attempt = :attempt',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * The latest ingest activity, newest first, at most `limit`: image items, and refusals (which have `at`, no `updatedAt`).
   * Reads the `activity` index, so it may lag a write by a moment.
   */
  async recentActivity(limit: number): Promise<(ImageItem | (IngestRefusal & { status: 'failed' }))[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: ACTIVITY_INDEX,
        KeyConditionExpression: 'activity = :activity',
        ExpressionAttributeValues: { ':activity': ACTIVITY },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((raw) => {
      if (isImageItem(raw)) return toImageItem(raw);
      const { sourceKey, reason, identifier, at } = raw as unknown as IngestRefusal;
      return { sourceKey, reason, at, status: 'failed' as const, ...(identifier ? { identifier } : {}) };
    });
  }
}

/**
 * Every image item (refusals left out), read from the `activity` index one page at a time: the daily access
 * review's walk. It may lag a write by a moment; the ingest decides access itself for what it writes now.
 */
export async function* allImageItems(items: ImageItems): AsyncGenerator<ImageItem> {
  for await (const raw of queryAll(items.db, items.tableName, {
    IndexName: ACTIVITY_INDEX,
    KeyConditionExpression: 'activity = :activity',
    ExpressionAttributeValues: { ':activity': ACTIVITY },
  })) {
    if (isImageItem(raw)) yield toImageItem(raw);
  }
}

/** An image item as read from the table (or from an index shared with records). */
export function toImageItem(raw: Record<string, unknown>): ImageItem {
  const {
    pk: _pk, sk: _sk, activity: _a, activityAt: _at, attempt: _attempt,
    dataPidKey: _d, workPidKey: _w, objectKey: _o,
    ...item
  } = raw;
  return item as unknown as ImageItem;
}

/** True for a raw table item that is an image item. */
export function isImageItem(raw: Record<string, unknown>): boolean {
  return typeof raw.pk === 'string' && raw.pk.startsWith(IMAGE_PREFIX) && raw.sk === 'IMAGE';
}
