/**
 * Storage faults as the handlers see them after the SDK's retries: which are worth a 503 with Retry-After (the
 * SDK's own classification: throttling, 5xx, timeouts, dropped connections) and which are defects (500); and the
 * retry loop used for streamed uploads, which the SDK cannot resend.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createImageApiHandler } from '../../functions/image-api/handler.ts';
import { failureAnswer, isTransientStorageFault, withStorageRetries } from '../../functions/store/storage-faults.ts';

const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : { $metadata: {} }), ...extra });

describe('isTransientStorageFault', () => {
  it.each([
    ['S3 throttling', sdkError('SlowDown', 503)],
    ['DynamoDB throttling', sdkError('ThrottlingException', 400)],
    ['DynamoDB capacity', sdkError('ProvisionedThroughputExceededException', 400)],
    ['a 500', sdkError('InternalError', 500)],
    ['a timeout', sdkError('TimeoutError')],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a wrapped timeout', new Error('render failed', { cause: sdkError('TimeoutError') })],
  ])('%s is transient', (_, error) => {
    expect(isTransientStorageFault(error)).toBe(true);
  });

  it.each([
    ['a conditional check', sdkError('ConditionalCheckFailedException', 400)],
    ['access denied', sdkError('AccessDenied', 403)],
    ['a bug', new TypeError('cannot read properties of undefined')],
    ['a non-error', 'boom'],
  ])('%s is not', (_, error) => {
    expect(isTransientStorageFault(error)).toBe(false);
  });
});

describe('failureAnswer', () => {
  it('answers a transient fault 503 with Retry-After and a reason, never cached', () => {
    const answer = failureAnswer(sdkError('SlowDown', 503), 'the image could not be read');
    expect(answer.status).toBe(503);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.body).toMatch(/storage is busy or unreachable, so the image could not be read/);
  });

  it('answers a defect 500', () => {
    expect(failureAnswer(new TypeError('x'), 'the document could not be built').status).toBe(500);
  });
});

describe('withStorageRetries', () => {
  it('retries transient faults up to its attempts, then gives up with the last error', async () => {
    let calls = 0;
    await expect(withStorageRetries(() => Promise.reject(Object.assign(sdkError('InternalError', 500), { attempt: ++calls })), 3, 1)).rejects.toThrow('InternalError');
    expect(calls).toBe(3);
    let tries = 0;
    await expect(withStorageRetries(() => (++tries < 3 ? Promise.reject(sdkError('SlowDown', 503)) : Promise.resolve('stored')), 5, 1)).resolves.toBe('stored');
    expect(tries).toBe(3);
  });

  it('does not retry what cannot pass', async () => {
    let tries = 0;
    await expect(withStorageRetries(() => Promise.reject(Object.assign(sdkError('AccessDenied', 403), { n: ++tries })), 5, 1)).rejects.toThrow('AccessDenied');
    expect(tries).toBe(1);
  });
});

describe('the HTTP functions\' error middleware (answerFailures)', () => {
  const event = { rawPath: '/iiif/3/museum:obj-1/info.json', headers: {}, requestContext: { http: { method: 'GET' } } } as unknown as APIGatewayProxyEventV2;
  const context = { getRemainingTimeInMillis: () => 30_000, functionName: 'f', awsRequestId: 'a' } as never;
  const handlerFailingWith = (error: unknown) =>
    createImageApiHandler(
      {
        items: { get: () => Promise.reject(error) },
        derivatives: { get: () => Promise.resolve(undefined), getBytes: () => Promise.resolve(undefined), putBody: () => Promise.resolve() },
        settings: { publicUrl: 'https://iiif.example', jpegQuality: 85, upscaling: true, maxInlineBytes: 4_000_000 },
      },
      new Logger({ logLevel: 'SILENT' }),
    );

  it('answers the Lambda\'s storage fault 503 with Retry-After', async () => {
    const answer = await handlerFailingWith(sdkError('ProvisionedThroughputExceededException', 400))(event, context);
    expect(answer.statusCode).toBe(503);
    expect(Number(answer.headers?.['retry-after'])).toBeGreaterThan(0);
    expect(answer.body).toMatch(/the image could not be read/);
  });

  it('answers the Lambda\'s defect 500', async () => {
    expect((await handlerFailingWith(new TypeError('x is undefined'))(event, context)).statusCode).toBe(500);
  });
});
