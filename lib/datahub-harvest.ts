/**
 * The data hub harvest: a function that mirrors the data hub's LIDO records over OAI-PMH into the metadata table,
 * run by EventBridge schedules: often for incremental harvests (each run resumes an unfinished one from its
 * checkpoint), weekly for the ListIdentifiers reconciliation that finds records the data hub dropped (it keeps no
 * tombstones). One run at a time: the harvest state is one checkpoint, so concurrency is reserved at 1.
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { grantQueueSend } from './access-review.ts';
import { acknowledgeFunctionFindings } from './grants.ts';
import { imagehubFunction } from './lambda-defaults.ts';

export interface DatahubHarvestProps {
  table: ITableV2;
  /** The repository's OAI-PMH endpoint, e.g. https://datahub.vlaamsekunstcollectie.be/oai */
  oaiBaseUrl: string;
  set?: string;
  metadataPrefix?: string;
  /** How often to harvest incrementally (default every hour). */
  every?: Duration;
  /** Optional VKC authority files for rights decisions (RIGHTS.csv, Copyrights.csv URLs). */
  authorityFiles?: { rightsCsvUrl: string; copyrightsCsvUrl: string };
  /**
   * The ingest pipeline's queue: a changed record may change its images' access decisions, and the harvest asks for
   * their review (a synthetic S3 event per image, as the daily access review sends).
   */
  ingestQueue?: IQueue;
  /** IMAGEHUB_ACCESS_* settings, to decide whether a changed record changes its images' access. */
  settings?: Record<string, string>;
  logRetention?: RetentionDays;
}

export class DatahubHarvest extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Rule;
  readonly reconciliation: Rule;

  constructor(scope: Construct, id: string, props: DatahubHarvestProps) {
    super(scope, id);
    this.function = imagehubFunction(this, 'Function', {
      entry: 'functions/harvest/handler.ts',
      description: 'imagehub harvest: data hub LIDO records over OAI-PMH into the metadata table',
      // Pages of 25 records parse in milliseconds; the run is bounded by the repository's speed. It stops before the
      // timeout with its checkpoint saved, and the next scheduled run resumes.
      memorySize: 1024,
      timeout: Duration.minutes(15),
      // Two runs would race for one checkpoint: the schedule never overlaps itself.
      reservedConcurrency: 1,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        ...props.settings,
        TABLE_NAME: props.table.tableName,
        ...(props.ingestQueue ? { IMAGEHUB_INGEST_QUEUE_URL: props.ingestQueue.queueUrl } : {}),
        OAI_BASE_URL: props.oaiBaseUrl,
        ...(props.set ? { OAI_SET: props.set } : {}),
        ...(props.metadataPrefix ? { OAI_METADATA_PREFIX: props.metadataPrefix } : {}),
        ...(props.authorityFiles
          ? { RIGHTS_CSV_URL: props.authorityFiles.rightsCsvUrl, COPYRIGHTS_CSV_URL: props.authorityFiles.copyrightsCsvUrl }
          : {}),
        POWERTOOLS_SERVICE_NAME: 'imagehub-harvest',
      },
    });
    props.table.grantReadWriteData(this.function);
    if (props.ingestQueue) grantQueueSend(this.function, props.ingestQueue);
    acknowledgeFunctionFindings(this.function, { indexesOf: props.table });

    this.schedule = new Rule(this, 'Incremental', {
      description: 'imagehub: incremental data hub harvest (resumes an unfinished run)',
      schedule: Schedule.rate(props.every ?? Duration.hours(1)),
      targets: [new LambdaFunction(this.function, { event: RuleTargetInput.fromObject({ mode: 'auto' }), retryAttempts: 0 })],
    });
    this.reconciliation = new Rule(this, 'Reconcile', {
      description: 'imagehub: weekly ListIdentifiers reconciliation (the data hub keeps no tombstones)',
      schedule: Schedule.cron({ weekDay: 'SUN', hour: '3', minute: '0' }),
      targets: [new LambdaFunction(this.function, { event: RuleTargetInput.fromObject({ reconcile: true }), retryAttempts: 0 })],
    });
    new CfnOutput(this, 'HarvestFunctionName', { value: this.function.functionName, description: 'Invoke for an on-demand harvest' });
  }
}
