/**
 * Auth API Lambda (API Gateway HTTP API, payload 2.0), behind CloudFront on `/iiif/auth/*` (no caching; the
 * `imagehub-access` cookie and the Authorization header forwarded). All the logic is in {@link answerAuthRequest};
 * this adapts it to API Gateway.
 *
 * Settings: IMAGEHUB_AUTH_PASSWORD_SECRET_ARN, IMAGEHUB_AUTH_SIGNING_SECRET_ARN and TABLE_NAME (required),
 * IMAGEHUB_PUBLIC_URL (else the viewer's host the CDN forwards), IMAGEHUB_AUTH_SESSION_HOURS (default 8).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { parseSessionSeconds } from '../core/auth.ts';
import { ConfigError } from '../core/settings.ts';
import { createDocumentClient } from '../store/clients.ts';
import { createStores } from '../store/stores.ts';
import { answerFailures } from '../store/storage-faults.ts';
import { answerAuthRequest, MAX_AUTH_BODY_BYTES, type AuthDeps } from './answer-auth-request.ts';
import { secretsFromSecretsManager } from './secrets.ts';

export interface AuthSettings {
  /** The staff password's secret and the signing key's (lib/auth-api.ts keeps them apart). */
  secretArns: [string, string];
  tableName: string;
  publicUrl: string;
  sessionSeconds: number;
}

export function parseAuthSettings(env: Record<string, string | undefined>): AuthSettings {
  const passwordArn = env.IMAGEHUB_AUTH_PASSWORD_SECRET_ARN?.trim();
  const signingArn = env.IMAGEHUB_AUTH_SIGNING_SECRET_ARN?.trim();
  if (!passwordArn || !signingArn) throw new ConfigError('invalid configuration: IMAGEHUB_AUTH_PASSWORD_SECRET_ARN and IMAGEHUB_AUTH_SIGNING_SECRET_ARN are required');
  const tableName = env.TABLE_NAME?.trim();
  if (!tableName) throw new ConfigError('invalid configuration: TABLE_NAME is required');
  const publicUrl = env.IMAGEHUB_PUBLIC_URL?.trim() ?? '';
  if (publicUrl && !/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(publicUrl)) throw new ConfigError(`invalid configuration: IMAGEHUB_PUBLIC_URL must be an http(s) URL, got "${publicUrl}"`);
  let sessionSeconds: number;
  try {
    sessionSeconds = parseSessionSeconds(env.IMAGEHUB_AUTH_SESSION_HOURS);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return { secretArns: [passwordArn, signingArn], tableName, publicUrl: publicUrl.replace(/\/+$/, ''), sessionSeconds };
}

export function createAuthHandler(deps: AuthDeps, logger = new Logger({ serviceName: 'imagehub-auth' })) {
  return middy(async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const raw = event.body ?? '';
    const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    if (Buffer.byteLength(body) > MAX_AUTH_BODY_BYTES) {
      return { statusCode: 413, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: 'request body too large\n' };
    }
    const request = {
      method: event.requestContext.http.method,
      path: event.rawPath,
      query: event.queryStringParameters ?? {},
      headers: event.headers ?? {},
      ...(event.body !== undefined ? { body } : {}),
      ...(event.cookies ? { cookies: event.cookies } : {}),
    };
    const answer = await answerAuthRequest(request, deps);
    // Payload 2.0 sets cookies through `cookies`, not a header.
    const { 'set-cookie': setCookie, ...headers } = answer.headers;
    const text = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body).toString('utf8');
    return { statusCode: answer.status, headers, body: text, ...(setCookie ? { cookies: [setCookie] } : {}) };
  }).use(injectLambdaContext(logger)).use(answerFailures(logger, 'the authorization service could not answer'));
}

let cached: ReturnType<typeof createAuthHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
  if (!cached) {
    const settings = parseAuthSettings(process.env);
    const logger = new Logger({ serviceName: 'imagehub-auth' });
    const stores = createStores(createDocumentClient(), settings.tableName, (message, details) => logger.warn(message, details));
    cached = createAuthHandler(
      {
        items: stores.images,
        secrets: secretsFromSecretsManager(settings.secretArns),
        publicUrl: settings.publicUrl,
        sessionSeconds: settings.sessionSeconds,
      },
      logger,
    );
  }
  return cached(event, context);
};
