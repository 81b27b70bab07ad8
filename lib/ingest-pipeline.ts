/**
 * The ingest pipeline: ingest bucket → S3 notifications → SQS (dead-letter queue behind it) → ingest function,
 * which writes tiles, sizes and info.json to the derivative store and an image item to the metadata table.
 */
import { CfnOutput, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Bucket, EventType, type IBucket } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeBucketFindings, acknowledgeFunctionFindings, grantObjects } from './grants.ts';
import { imagehubFunction } from './lambda-defaults.ts';
import { PRIVATE_BUCKET } from './private-bucket.ts';

/** Attempts per S3 event before it goes to the dead-letter queue (and the image item is marked failed). */
export const INGEST_MAX_RECEIVE_COUNT = 3;

/**
 * Sized from the ingest benchmark: a 100 MP master renders in ~2.5 s on 2 vCPUs with a peak RSS of ~230 MB that
 * does not grow with the master; a 1.5 GP master (the default pixel limit) is ~15× that work plus its transfer.
 * 4096 MB buys ~2.3 vCPU and room for the 2 GiB WebAssembly heap the JPEG 2000/HEIC decoders may need next to
 * the decoded pixels they hand over (~0.9 GB at their budget); /tmp holds the
 * master, a decoded intermediate (JPEG 2000/HEIC) and the pyramid, so it gets Lambda's 10 GiB maximum.
 */
export const INGEST_DEFAULTS = {
  memoryMiB: 4096,
  timeout: Duration.minutes(10),
  ephemeralStorageMiB: 10_240,
  batchSize: 4,
  maxConcurrency: 20,
  masterVersionRetentionDays: 90,
} as const;

export interface IngestPipelineProps {
  derivatives: IBucket;
  /** Derivatives beyond what anyone may see (restricted-size and private images; never reachable by the CDN). */
  protectedDerivatives: IBucket;
  table: ITableV2;
  imagingLayer: ILayerVersion;
  /** The public base URL every info.json `id` starts with (the CDN's). */
  publicUrl: string;
  /**
   * The CDN: when an image's access is tightened the ingest function invalidates the paths that were public, so
   * edge caches stop serving them (IMAGEHUB_DISTRIBUTION_ID, cloudfront:CreateInvalidation on it alone).
   */
  distribution?: IDistribution;
  /** A bucket the museum already uploads to; otherwise one is created. */
  ingestBucket?: IBucket;
  memoryMiB?: number;
  /** Concurrent ingests at most, so a bulk upload cannot take the account's whole Lambda concurrency. */
  maxConcurrency?: number;
  /** Extra IMAGEHUB_* settings (tile size, JPEG quality, pixel limit…), see README. */
  settings?: Record<string, string>;
  /** Of a created ingest bucket: RETAIN (prod, the default) or DESTROY (dev; the bucket must be emptied first). */
  removalPolicy?: RemovalPolicy;
  /** How long an overwritten or deleted master stays recoverable as a noncurrent version (default 90 days). */
  masterVersionRetentionDays?: number;
  logRetention?: RetentionDays;
}

export class IngestPipeline extends Construct {
  readonly bucket: IBucket;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly function: NodejsFunction;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    this.bucket =
      props.ingestBucket ??
      new Bucket(this, 'Bucket', {
        ...PRIVATE_BUCKET,
        ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
        // Masters are the museum's originals: an overwrite or delete stays recoverable (default 90 days).
        versioned: true,
        lifecycleRules: [
          {
            noncurrentVersionExpiration: Duration.days(props.masterVersionRetentionDays ?? INGEST_DEFAULTS.masterVersionRetentionDays),
            abortIncompleteMultipartUploadAfter: Duration.days(7),
          },
        ],
      });

    const timeout = INGEST_DEFAULTS.timeout;
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Events', {
      // AWS's rule for SQS event sources: at least six times the function timeout, so a message being worked on
      // is never handed to a second invocation.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: INGEST_MAX_RECEIVE_COUNT },
    });
    const destination = new SqsDestination(this.queue);
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, destination);
    this.bucket.addEventNotification(EventType.OBJECT_REMOVED, destination);
    if (!props.ingestBucket) acknowledgeBucketFindings(this.bucket);
    // CDK's own notification-configuring function (one per stack) runs with the basic execution policy.
    const notificationsHandler = Stack.of(this).node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (notificationsHandler) {
      Validations.of(notificationsHandler).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK\'s bucket-notification custom resource: AWSLambdaBasicExecutionRole only lets it write its logs',
      });
    }

    this.function = imagehubFunction(this, 'Function', {
      entry: 'functions/ingest/handler.ts',
      description: 'imagehub ingest: master in the ingest bucket → IIIF level-0 pyramid, info.json and image item',
      memorySize: props.memoryMiB ?? INGEST_DEFAULTS.memoryMiB,
      timeout,
      ephemeralStorageMiB: INGEST_DEFAULTS.ephemeralStorageMiB,
      imagingLayer: props.imagingLayer,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        ...props.settings,
        IMAGEHUB_PUBLIC_URL: props.publicUrl,
        DERIVATIVE_BUCKET: props.derivatives.bucketName,
        IMAGEHUB_PROTECTED_BUCKET: props.protectedDerivatives.bucketName,
        ...(props.distribution ? { IMAGEHUB_DISTRIBUTION_ID: props.distribution.distributionId } : {}),
        TABLE_NAME: props.table.tableName,
        INGEST_MAX_RECEIVE_COUNT: String(INGEST_MAX_RECEIVE_COUNT),
        // The last attempt parks its message here itself, with the reason as message attributes.
        IMAGEHUB_DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        POWERTOOLS_SERVICE_NAME: 'imagehub-ingest',
      },
    });
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        // Records run one after another (each may use all the memory); a small batch keeps a slow master from
        // holding many others hostage to the timeout.
        batchSize: INGEST_DEFAULTS.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? INGEST_DEFAULTS.maxConcurrency,
      }),
    );
    grantObjects(this.function, this.bucket, ['s3:GetObject', 's3:GetObjectVersion']);
    // Publishes revisions, and deletes superseded ones and a removed master's derivatives (DeleteObjects).
    grantObjects(this.function, props.derivatives, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    // The same on the protected store: what a revision publishes there, and deletes when it is superseded.
    grantObjects(this.function, props.protectedDerivatives, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    props.table.grantReadWriteData(this.function);
    props.distribution?.grantCreateInvalidation(this.function);
    this.deadLetterQueue.grantSendMessages(this.function);
    acknowledgeFunctionFindings(this.function, { objectsOf: [this.bucket, props.derivatives, props.protectedDerivatives], indexesOf: props.table });

    this.deadLetterAlarm = new Alarm(this, 'DeadLettersAlarm', {
      alarmDescription: 'S3 events the ingest function gave up on: `npx imagehub redrive --list` shows why, `npx imagehub redrive` replays them',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    new CfnOutput(this, 'IngestBucketName', { value: this.bucket.bucketName, description: 'Upload masters here' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl, description: 'Ingests given up on, with their reasons (imagehub redrive)' });
    new CfnOutput(this, 'IngestQueueUrl', { value: this.queue.queueUrl, description: 'S3 notifications for the ingest (imagehub redrive replays into it)' });
  }
}
