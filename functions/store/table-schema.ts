/**
 * The metadata table's keys and indexes, declared once: the CDK stack and the one-machine stand-in both build the
 * table from this, so they cannot drift apart.
 */
import { ACTIVITY_INDEX } from './image-items.ts';
import { COLLECTION_INDEX } from './objects.ts';
import { RECORD_INDEXES } from './records.ts';

export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

/** What an index holds besides the keys: the whole item (default), or named attributes only. */
export type IndexProjection = { type: 'ALL' } | { type: 'KEYS_ONLY' } | { type: 'INCLUDE'; attributes: readonly string[] };

export interface TableIndex {
  indexName: string;
  partitionKey: string;
  sortKey: string;
  projection?: IndexProjection;
}

/**
 * Every index projects the whole item unless it says otherwise: a projected copy is written with every write of
 * a record (10–14 KB with its XML), so indexes read only for a few attributes project just those. The lookup indexes are sparse: an item is in an index only when it has the
 * index's attributes (see functions/store/records.ts for what each serves).
 */
export const TABLE_INDEXES = [
  { indexName: ACTIVITY_INDEX, partitionKey: 'activity', sortKey: 'activityAt' },
  // Shared by records and images (image items carry the same link keys), so either finds the other.
  { indexName: RECORD_INDEXES.byDataPid, partitionKey: 'dataPidKey', sortKey: 'pk' },
  { indexName: RECORD_INDEXES.byWorkPid, partitionKey: 'workPidKey', sortKey: 'pk' },
  { indexName: RECORD_INDEXES.byObject, partitionKey: 'objectKey', sortKey: 'pk' },
  // Records only.
  // Read rarely (summary repair), in full after the listing: keys only.
  { indexName: RECORD_INDEXES.byInstitution, partitionKey: 'institutionKey', sortKey: 'recordId', projection: { type: 'KEYS_ONLY' } },
  // The reconciliation needs ids, datestamps and status only.
  { indexName: RECORD_INDEXES.bySource, partitionKey: 'harvestSource', sortKey: 'recordId', projection: { type: 'INCLUDE', attributes: ['datestamp', 'status', 'oaiIdentifier'] } },
  // Object summaries with a manifest, per institution, and the institutions themselves (functions/store/objects.ts).
  { indexName: COLLECTION_INDEX, partitionKey: 'collectionKey', sortKey: 'objectId' },
] as const satisfies readonly TableIndex[];
