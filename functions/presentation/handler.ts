/**
 * Presentation API Lambda (API Gateway HTTP API, payload 2.0), behind CloudFront on `/iiif/presentation/*`.
 * All the logic is in {@link answerPresentationRequest}; this adapts it to API Gateway.
 *
 * Settings: TABLE_NAME (required), IMAGEHUB_PUBLIC_URL (else the viewer's host the CDN forwards),
 * OAI_METADATA_PREFIX (GetRecord links; default oai_lido).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ConfigError } from '../core/settings.ts';
import { createDocumentClient } from '../store/clients.ts';
import { createStores } from '../store/stores.ts';
import { answerFailures } from '../store/storage-faults.ts';
import { answerPresentationRequest, type PresentationDeps } from './answer-presentation-request.ts';

export function parsePresentationSettings(env: Record<string, string | undefined>): { tableName: string; publicUrl: string; metadataPrefix: string } {
  const tableName = env.TABLE_NAME?.trim();
  if (!tableName) throw new ConfigError('invalid configuration: TABLE_NAME is required');
  const publicUrl = env.IMAGEHUB_PUBLIC_URL?.trim() ?? '';
  if (publicUrl && !/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(publicUrl)) throw new ConfigError(`invalid configuration: IMAGEHUB_PUBLIC_URL must be an http(s) URL, got "${publicUrl}"`);
  return { tableName, publicUrl: publicUrl.replace(/\/+$/, ''), metadataPrefix: env.OAI_METADATA_PREFIX?.trim() || 'oai_lido' };
}

export function createPresentationHandler(deps: PresentationDeps, logger = new Logger({ serviceName: 'imagehub-presentation' })) {
  return middy(async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const request = { method: event.requestContext.http.method, path: event.rawPath, query: event.queryStringParameters ?? {}, headers: event.headers ?? {} };
    const answer = await answerPresentationRequest(request, deps);
    return { statusCode: answer.status, headers: answer.headers, body: answer.body ?? '' };
  }).use(injectLambdaContext(logger)).use(answerFailures(logger, 'the document could not be built'));
}

let cached: ReturnType<typeof createPresentationHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
  if (!cached) {
    const settings = parsePresentationSettings(process.env);
    const logger = new Logger({ serviceName: 'imagehub-presentation' });
    const stores = createStores(createDocumentClient(), settings.tableName, (message, details) => logger.warn(message, details));
    cached = createPresentationHandler({ objects: stores.objects, records: stores.records, publicUrl: settings.publicUrl, metadataPrefix: settings.metadataPrefix }, logger);
  }
  return cached(event, context);
};
