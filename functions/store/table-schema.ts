/**
 * The metadata table's keys and indexes, declared once: the CDK stack and the one-machine stand-in both build the
 * table from this, so they cannot drift apart.
 */
import { ACTIVITY_INDEX } from './image-items.ts';

export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

export const TABLE_INDEXES = [
  { indexName: ACTIVITY_INDEX, partitionKey: 'activity', sortKey: 'activityAt' },
] as const;
