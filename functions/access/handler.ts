/**
 * Access review Lambda, run daily by EventBridge (00:05 UTC): every image's access decided again, and the images
 * whose published access is no longer right republished through the ingest queue (functions/access/review.ts).
 *
 * Settings: TABLE_NAME, IMAGEHUB_INGEST_QUEUE_URL, IMAGEHUB_ACCESS_* (see README).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { parseAccessSettings } from '../core/access-policy.ts';
import { ConfigError } from '../core/settings.ts';
import { createDocumentClient } from '../store/clients.ts';
import { createStores } from '../store/stores.ts';
import { AccessReview, republishMessage, type ReviewReport } from './review.ts';

export function createAccessReviewHandler(review: AccessReview, logger = new Logger({ serviceName: 'imagehub-access-review' })) {
  return middy(async (_event: ScheduledEvent, _context: Context): Promise<ReviewReport> => {
    const report = await review.reviewAll();
    logger.info('access review done', { reviewed: report.reviewed, republished: report.republished.length, changes: report.republished.slice(0, 50) });
    return report;
  }).use(injectLambdaContext(logger));
}

/** Sends republish messages to the ingest queue: the same shape S3 notifications have there. */
export function queueRepublisher(queueUrl: string, sqs: Pick<SQSClient, 'send'> = new SQSClient({})) {
  return async (item: Parameters<typeof republishMessage>[0]): Promise<void> => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: republishMessage(item) }));
  };
}

let cached: ReturnType<typeof createAccessReviewHandler> | undefined;

export const handler = (event: ScheduledEvent, context: Context): Promise<ReviewReport> => {
  if (!cached) {
    const tableName = process.env.TABLE_NAME?.trim();
    const queueUrl = process.env.IMAGEHUB_INGEST_QUEUE_URL?.trim();
    if (!tableName || !queueUrl) throw new ConfigError('invalid configuration: TABLE_NAME and IMAGEHUB_INGEST_QUEUE_URL are required');
    const logger = new Logger({ serviceName: 'imagehub-access-review' });
    const stores = createStores(createDocumentClient(), tableName, (message, details) => logger.warn(message, details));
    const review = new AccessReview({
      records: stores.records,
      images: stores.images,
      settings: parseAccessSettings(process.env),
      republish: queueRepublisher(queueUrl),
      log: (message, details) => logger.info(message, details),
    });
    cached = createAccessReviewHandler(review, logger);
  }
  return cached(event, context);
};
