/**
 * Ingest Lambda: SQS batch of S3 notifications → one {@link handleObjectEvent} per object, records processed one
 * at a time (each can use all the memory), partial-batch failures reported so only failed messages are retried,
 * and after the queue's last attempt the item is marked failed and the message parked in the dead-letter queue with
 * the same reason (`imagehub redrive` replays it).
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import sharp from 'sharp';
import { SQSClient } from '@aws-sdk/client-sqs';
import { availableParallelism } from 'node:os';
import { identifierForKey } from '../core/identifier.ts';
import { MalformedEventError, objectEventsFromMessage } from '../core/s3-events.ts';
import { parseAccessSettings } from '../core/access-policy.ts';
import { parseIngestSettings } from '../core/settings.ts';
import { AccessReview } from '../access/review.ts';
import { cloudFrontInvalidator } from '../store/cdn-invalidation.ts';
import { createDocumentClient, createS3Client } from '../store/clients.ts';
import { createStores } from '../store/stores.ts';
import { ObjectStore } from '../store/object-store.ts';
import { sqsDeadLetterSink, type DeadLetterSink } from '../store/dead-letters.ts';
import { handleObjectEvent, type IngestDeps } from './ingest-object.ts';

// libvips defaults to one thread on glibc; a Lambda function has as many vCPUs as its memory buys.
sharp.concurrency(availableParallelism());
// Each master is decoded once; caching decoded regions only costs memory.
sharp.cache(false);

export interface IngestHandlerOptions {
  deps: IngestDeps;
  logger?: Logger;
  /** The queue's maxReceiveCount: the attempt after which a message goes to the dead-letter queue. */
  maxReceiveCount?: number;
  /**
   * Where a message goes, with its reason, when its last attempt failed. Without one the failure is left to the
   * queue's redrive policy, which moves the message without saying why.
   */
  deadLetter?: DeadLetterSink;
}

export function createIngestHandler({ deps, logger = new Logger({ serviceName: 'imagehub-ingest' }), maxReceiveCount = 3, deadLetter }: IngestHandlerOptions) {
  const processor = new BatchProcessor(EventType.SQS);

  const processRecordWithin = (context: Context) => async (record: SQSRecord): Promise<void> => {
    let events;
    try {
      events = objectEventsFromMessage(record.body);
    } catch (error) {
      if (error instanceof MalformedEventError) {
        // Not an S3 notification: retrying cannot help, dropping it loses nothing.
        logger.error('ignoring a message that is not an S3 notification', { messageId: record.messageId, error: error.message });
        return;
      }
      throw error;
    }
    const attempt = Number(record.attributes.ApproximateReceiveCount ?? '1');
    for (const event of events) {
      try {
        const outcome = await withinTimeLimit(context, (signal) => handleObjectEvent(event, { ...deps, signal }));
        logger.info('ingest outcome', { key: event.key, kind: event.kind, ...outcome });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        logger.error('ingest attempt failed', { key: event.key, attempt, error: message });
        if (attempt < maxReceiveCount) throw error;
        // The last attempt: the image says it failed and why, and the message is parked with the same reason.
        const reason = `gave up after ${attempt} attempts on ${event.kind === 'created' ? '' : 'the removal of '}${event.key}: ${message}`;
        const failedAt = new Date().toISOString();
        const mapped = identifierForKey(event.key);
        if (event.kind === 'created' && mapped.kind === 'identifier') await deps.items.giveUp(mapped.identifier, event.key, reason, failedAt);
        if (!deadLetter) throw error;
        await deadLetter({ messageId: record.messageId, body: record.body, reason, attempts: attempt, failedAt });
        logger.warn('message dead-lettered', { messageId: record.messageId, key: event.key, reason });
        return;
      }
    }
  };

  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, processRecordWithin(context), processor, { context, processInParallel: false, throwOnFullBatchFailure: false }),
  ).use(injectLambdaContext(logger));
}

/** Time kept back from the function's limit to record a failure and park the message (a DynamoDB and an SQS write). */
export const TIME_LIMIT_RESERVE_MS = 20_000;

export class TimeLimitError extends Error {}

/**
 * Run one ingest, stopping it before the function's time limit: a Lambda killed at its limit cannot say why, and
 * on the last attempt its message would reach the dead-letter queue with no reason and its image stay `processing`.
 * The work is told to stop through the signal (checked between stages), and the attempt fails with the reason.
 * Middy's own `timeoutEarlyInMillis` ends the whole invocation at once instead, before the record's last attempt could
 * mark its image failed and park its message; hence a timer per record here.
 */
async function withinTimeLimit<T>(context: Context, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const remaining = context.getRemainingTimeInMillis?.();
  if (remaining === undefined) return work(new AbortController().signal);
  const controller = new AbortController();
  const limitSeconds = Math.round(remaining / 1000);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeLimitError(`the ingest did not finish within the function's time limit (${limitSeconds} s left when it started): the master is too large for the configured memory, or storage was too slow`);
      controller.abort(error);
      reject(error);
    }, Math.max(0, remaining - TIME_LIMIT_RESERVE_MS));
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

let cached: ReturnType<typeof createIngestHandler> | undefined;

/** The deployed entry point: dependencies built once per container from the environment. */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  if (!cached) {
    const settings = parseIngestSettings(process.env);
    const s3 = createS3Client();
    const logger = new Logger({ serviceName: 'imagehub-ingest' });
    const stores = createStores(createDocumentClient(), settings.tableName, (message, details) => logger.warn(message, details));
    const access = new AccessReview({ records: stores.records, images: stores.images, settings: parseAccessSettings(process.env) });
    cached = createIngestHandler({
      deps: {
        s3,
        derivatives: new ObjectStore(s3, settings.derivativeBucket),
        ...(settings.protectedBucket ? { protectedDerivatives: new ObjectStore(s3, settings.protectedBucket) } : {}),
        items: stores.images,
        settings,
        decideAccess: (request) => access.decide(request),
        // A tightened access withdraws the CDN's copies too (IMAGEHUB_DISTRIBUTION_ID, set by the stack).
        ...(process.env.IMAGEHUB_DISTRIBUTION_ID?.trim() ? { invalidate: cloudFrontInvalidator(process.env.IMAGEHUB_DISTRIBUTION_ID.trim()) } : {}),
      },
      logger,
      maxReceiveCount: Number(process.env.INGEST_MAX_RECEIVE_COUNT ?? '3'),
      ...(process.env.IMAGEHUB_DEAD_LETTER_QUEUE_URL?.trim()
        ? { deadLetter: sqsDeadLetterSink(new SQSClient({}), process.env.IMAGEHUB_DEAD_LETTER_QUEUE_URL.trim()) }
        : {}),
    });
  }
  return cached(event, context);
};
