/**
 * The metadata table: image items and the data-hub mirror (records, harvest state), declared from the same schema the
 * one-machine stand-in uses (functions/store/table-schema.ts).
 */
import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_INDEXES, TABLE_KEYS, type TableIndex } from '../functions/store/table-schema.ts';

function projectionOf(index: TableIndex): { projectionType: ProjectionType; nonKeyAttributes?: string[] } {
  const projection = index.projection ?? { type: 'ALL' };
  if (projection.type === 'INCLUDE') return { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...projection.attributes] };
  return { projectionType: projection.type === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL };
}

export interface MetadataTableProps {
  /** RETAIN (prod, the default) keeps the table when the stack goes; DESTROY (dev) deletes it with the stack. */
  removalPolicy?: RemovalPolicy;
  /** Refuse deletes of the table until switched off (default on). */
  deletionProtection?: boolean;
}

export class MetadataTable extends Construct {
  readonly table: ITableV2;

  constructor(scope: Construct, id: string, props: MetadataTableProps = {}) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        ...projectionOf(index),
      })),
      // Traffic follows uploads and harvests in bursts: pay per request, no capacity to plan.
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      // In every stage: a mistaken bulk write is undone by restoring to a minute before it (cents per GB-month).
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Read by the imagehub CLI from `cdk deploy --outputs-file` (functions/cli/target.ts).
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'The metadata table (imagehub CLI: --table)' });
  }
}
