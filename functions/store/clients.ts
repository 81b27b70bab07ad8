/**
 * AWS SDK clients configured from the environment. The standard AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB
 * variables point them at any S3- or DynamoDB-compatible service (the one-machine stand-ins among them).
 *
 * Faults, as the AWS guidance has it: the SDK's standard retry mode (exponential back-off with full jitter and a
 * retry quota, so a failing service is not stormed) retries throttling, 5xx, timeouts and dropped connections up
 * to `maxAttempts`; every request has a connection and a socket-idle timeout, so a stalled connection becomes a
 * retried TimeoutError instead of a request that hangs until the Lambda's own time limit. The idle timeout is per
 * socket, not per request: a large master streams for as long as bytes keep arriving.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

type Env = Record<string, string | undefined>;

/** Attempts per request, the first included (the SDK's default is 3; storage faults here are cheap to retry). */
export const STORAGE_MAX_ATTEMPTS = 5;
const CONNECTION_TIMEOUT_MS = 3_000;
/** Socket idle time before a request is abandoned and retried; IMAGEHUB_STORAGE_TIMEOUT_MS overrides it. */
export const DEFAULT_STORAGE_TIMEOUT_MS = 10_000;

/**
 * Sockets per client. The connection timeout runs while a request waits for a free socket too: with the SDK's 50,
 * `npm start` under bench:load queued ~400 requests for up to 2 s and some timed out into 503s. A Lambda serves
 * one request at a time and never comes near either number.
 */
const MAX_SOCKETS = 256;

function requestHandlerOptions(env: Env) {
  const configured = Number(env.IMAGEHUB_STORAGE_TIMEOUT_MS);
  const requestTimeout = Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_STORAGE_TIMEOUT_MS;
  return {
    connectionTimeout: Math.min(CONNECTION_TIMEOUT_MS, requestTimeout),
    requestTimeout,
    // Without it the handler only logs a warning and the request waits forever (measured: an unanswered HeadObject
    // hung the ingest until the test's time limit).
    throwOnRequestTimeout: true,
    httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
  };
}

export function createS3Client(env: Env = process.env, overrides: S3ClientConfig = {}): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Checksums only where S3 requires them: S3-compatible stores (s3rver, older MinIO) otherwise store streamed
    // bodies with aws-chunked framing inside. Integrity on AWS is kept by the SDK's Content-MD5 where required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: STORAGE_MAX_ATTEMPTS,
    requestHandler: requestHandlerOptions(env),
    ...overrides,
  });
}

export function createDocumentClient(env: Env = process.env, overrides: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
  const client = new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: STORAGE_MAX_ATTEMPTS,
    requestHandler: requestHandlerOptions(env),
    ...overrides,
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
