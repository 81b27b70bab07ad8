/**
 * Ingest Lambda: SQS batch of S3 notifications → one {@link handleObjectEvent} per object, records processed one
 * at a time (each can use all the memory), partial-batch failures reported so only failed messages are retried,
 * and after the queue's last attempt the item is marked failed before the message moves to the dead-letter queue.
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import sharp from 'sharp';
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
}

export function createIngestHandler({ deps, logger = new Logger({ serviceName: 'imagehub-ingest' }), maxReceiveCount = 3 }: IngestHandlerOptions) {
  const processor = new BatchProcessor(EventType.SQS);

  const processRecord = async (record: SQSRecord): Promise<void> => {
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
    for (const event of events) {
      try {
        const outcome = await handleObjectEvent(event, deps);
        logger.info('ingest outcome', { key: event.key, kind: event.kind, ...outcome });
      } catch (error) {
        const attempt = Number(record.attributes.ApproximateReceiveCount ?? '1');
        const message = error instanceof Error ? error.message : String(error);
        logger.error('ingest attempt failed', { key: event.key, attempt, error: message });
        const mapped = identifierForKey(event.key);
        if (attempt >= maxReceiveCount && event.kind === 'created' && mapped.kind === 'identifier') {
          await deps.items.giveUp(mapped.identifier, event.key, `gave up after ${attempt} attempts: ${message}`, new Date().toISOString());
        }
        throw error;
      }
    }
  };

  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, processRecord, processor, { context, processInParallel: false, throwOnFullBatchFailure: false }),
  ).use(injectLambdaContext(logger));
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
    });
  }
  return cached(event, context);
};
