/**
 * Image API Lambda (API Gateway HTTP API, payload 2.0), behind CloudFront: every Image API request that no stored
 * file answers. All the IIIF logic is in {@link answerImageRequest}; this adapts it to API Gateway.
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import sharp from 'sharp';
import { availableParallelism } from 'node:os';
import { isAuthorised } from '../core/auth.ts';
import { parseIngestSettings } from '../core/settings.ts';
import { signingKeyFromSecretsManager } from '../auth/secrets.ts';
import { createDocumentClient, createS3Client } from '../store/clients.ts';
import { ImageItems } from '../store/image-items.ts';
import { ObjectStore } from '../store/object-store.ts';
import { answerFailures } from '../store/storage-faults.ts';
import { answerImageRequest, type ImageApiDeps } from './answer-image-request.ts';

sharp.concurrency(availableParallelism());
// Tiles are read once per request; libvips' operation cache would only hold memory across requests.
sharp.cache(false);

export function createImageApiHandler(deps: ImageApiDeps, logger = new Logger({ serviceName: 'imagehub-image-api' })) {
  return middy(async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    // Payload 2.0 moves the Cookie header into `cookies`; the access cookie is looked for in the header.
    const headers = { ...(event.headers ?? {}), ...(event.cookies?.length ? { cookie: event.cookies.join('; ') } : {}) };
    const request = { method: event.requestContext.http.method, path: event.rawPath, headers };
    const answer = await answerImageRequest(request, deps);
    const binary = answer.body instanceof Uint8Array;
    return {
      statusCode: answer.status,
      headers: answer.headers,
      body: answer.body === undefined ? '' : binary ? Buffer.from(answer.body as Uint8Array).toString('base64') : (answer.body as string),
      isBase64Encoded: binary,
    };
  }).use(injectLambdaContext(logger)).use(answerFailures(logger, 'the image could not be read'));
}

let cached: ReturnType<typeof createImageApiHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
  if (!cached) {
    const settings = parseIngestSettings(process.env, { publicUrlOptional: true });
    const s3 = createS3Client();
    const logger = new Logger({ serviceName: 'imagehub-image-api' });
    const signingArn = process.env.IMAGEHUB_AUTH_SIGNING_SECRET_ARN?.trim();
    const signingKey = signingArn ? signingKeyFromSecretsManager(signingArn) : undefined;
    cached = createImageApiHandler(
      {
        items: new ImageItems(createDocumentClient(), settings.tableName),
        derivatives: new ObjectStore(s3, settings.derivativeBucket),
        ...(settings.protectedBucket ? { protectedDerivatives: new ObjectStore(s3, settings.protectedBucket) } : {}),
        // Only requests for images that are not open ask: the secret is read then, and cached.
        ...(signingKey ? { authorised: async (request) => isAuthorised(request.headers, await signingKey(), new Date()) } : {}),
        settings,
        // Masters are read by byte ranges from the bucket their image item names (read-only grant: lib/image-api.ts).
        masters: (bucket) => new ObjectStore(s3, bucket),
        log: (level, message, details) => logger[level](message, details),
      },
      logger,
    );
  }
  return cached(event, context);
};
