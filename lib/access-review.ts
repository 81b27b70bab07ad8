/**
 * The access review (issue 8): every published revision records the access decision it was published under, and
 * decisions change by themselves (a creator's works enter the public domain on 1 January, `changesOn`). A daily
 * EventBridge schedule, five past midnight UTC, runs the review function: it finds the images whose decision differs
 * now and republishes them by sending a synthetic S3 ObjectCreated event for their master to the ingest queue — the
 * ingest function does the rest, exactly as for an upload.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeFunctionFindings } from './grants.ts';
import { imagehubFunction } from './lambda-defaults.ts';

/** When the review runs: 00:05 UTC every day, just after the year (and so the public-domain day) turns. */
export const ACCESS_REVIEW_SCHEDULE = { hour: '0', minute: '5' } as const;

export interface AccessReviewProps {
  table: ITableV2;
  /** The ingest pipeline's queue: republishing is a synthetic S3 event sent to it. */
  ingestQueue: IQueue;
  protectedDerivatives: IBucket;
  /** IMAGEHUB_ACCESS_* settings: the policy defaults the decisions are re-made with. */
  settings?: Record<string, string>;
  logRetention?: RetentionDays;
}

export class AccessReview extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: AccessReviewProps) {
    super(scope, id);
    this.function = imagehubFunction(this, 'Function', {
      entry: 'functions/access/handler.ts',
      description: 'imagehub access review: republishes images whose access decision changed (public-domain day, settings)',
      // Pages through the image items and decides each in memory; the run is bounded by the table's size.
      memorySize: 1024,
      timeout: Duration.minutes(15),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        ...props.settings,
        TABLE_NAME: props.table.tableName,
        IMAGEHUB_INGEST_QUEUE_URL: props.ingestQueue.queueUrl,
        IMAGEHUB_PROTECTED_BUCKET: props.protectedDerivatives.bucketName,
        POWERTOOLS_SERVICE_NAME: 'imagehub-access-review',
      },
    });
    props.table.grantReadWriteData(this.function);
    grantQueueSend(this.function, props.ingestQueue);
    acknowledgeFunctionFindings(this.function, { indexesOf: props.table });

    // The scheduled event itself is the input (its `time` is the review's "now").
    this.schedule = new Rule(this, 'Daily', {
      description: 'imagehub: daily access review (00:05 UTC)',
      schedule: Schedule.cron(ACCESS_REVIEW_SCHEDULE),
      // The review is idempotent (an image already republished no longer differs): a retry is harmless.
      targets: [new LambdaFunction(this.function, { retryAttempts: 2 })],
    });
  }
}

/** sqs:SendMessage on exactly this queue (CDK's grantSendMessages adds GetQueueAttributes and GetQueueUrl). */
export function grantQueueSend(fn: NodejsFunction, queue: IQueue): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
}
