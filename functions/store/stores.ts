/**
 * The table's stores wired together: record and image writes refresh the object summaries that collections list
 * (functions/store/objects.ts). Every process that writes records or images (ingest, harvest, the CLI, `npm start`)
 * builds its stores here, so none can forget the wiring.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ImageItems } from './image-items.ts';
import { ObjectSummaries } from './objects.ts';
import { HarvestStateStore, RecordStore, type RecordChange } from './records.ts';

export interface Stores {
  records: RecordStore;
  images: ImageItems;
  objects: ObjectSummaries;
  harvestState: HarvestStateStore;
}

export interface StoreHooks {
  /** After a record changed and its object summary was refreshed (e.g. the access review of its images). */
  afterRecordChange?: (change: RecordChange) => Promise<void>;
}

export function createStores(
  db: DynamoDBDocumentClient,
  tableName: string,
  warn: (message: string, details: Record<string, unknown>) => void = () => undefined,
  hooks: StoreHooks = {},
): Stores {
  // Reading instances for the summaries themselves; the writing ones below tell the summaries what changed.
  const objects = new ObjectSummaries(db, tableName, new RecordStore(db, tableName), new ImageItems(db, tableName));
  const failed = (what: string) => (error: unknown, change: object) =>
    warn(`object summary refresh after a ${what} change failed (a manifest request repairs it)`, { change, error: error instanceof Error ? error.message : String(error) });
  return {
    objects,
    records: new RecordStore(db, tableName, {
      onChange: async (change) => {
        await objects.recordChanged(change);
        try {
          await hooks.afterRecordChange?.(change);
        } catch (error) {
          warn('the access review after a record change failed (the daily review catches up)', { change: change.recordId, error: error instanceof Error ? error.message : String(error) });
        }
      },
      onChangeError: failed('record'),
    }),
    images: new ImageItems(db, tableName, { onChange: (change) => objects.imageChanged(change.identifier), onChangeError: failed('image') }),
    harvestState: new HarvestStateStore(db, tableName),
  };
}
