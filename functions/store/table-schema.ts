/**
 * The metadata table's keys and indexes, declared once: the CDK stack and the one-machine stand-in both build the
 * table from this, so they cannot drift apart.
 */
import { ACTIVITY_INDEX } from './image-items.ts';
import { COLLECTION_INDEX } from './objects.ts';
import { RECORD_INDEXES } from './records.ts';

export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

/**
 * Every index projects the whole item. The lookup indexes are sparse: an item is in an index only when it has the
 * index's attributes (see functions/store/records.ts for what each serves).
 */
export const TABLE_INDEXES = [
  { indexName: ACTIVITY_INDEX, partitionKey: 'activity', sortKey: 'activityAt' },
  // Shared by records and images (image items carry the same link keys), so either finds the other.
  { indexName: RECORD_INDEXES.byDataPid, partitionKey: 'dataPidKey', sortKey: 'pk' },
  { indexName: RECORD_INDEXES.byWorkPid, partitionKey: 'workPidKey', sortKey: 'pk' },
  { indexName: RECORD_INDEXES.byObject, partitionKey: 'objectKey', sortKey: 'pk' },
  // Records only.
  { indexName: RECORD_INDEXES.byInstitution, partitionKey: 'institutionKey', sortKey: 'recordId' },
  { indexName: RECORD_INDEXES.bySource, partitionKey: 'harvestSource', sortKey: 'recordId' },
  // Object summaries with a manifest, per institution, and the institutions themselves (functions/store/objects.ts).
  { indexName: COLLECTION_INDEX, partitionKey: 'collectionKey', sortKey: 'objectId' },
] as const;
