/**
 * AWS SDK clients configured from the environment. The standard AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB
 * variables point them at any S3- or DynamoDB-compatible service (the one-machine stand-ins among them).
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

type Env = Record<string, string | undefined>;

export function createS3Client(env: Env = process.env, overrides: S3ClientConfig = {}): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Checksums only where S3 requires them: S3-compatible stores (s3rver, older MinIO) otherwise store streamed
    // bodies with aws-chunked framing inside. Integrity on AWS is kept by the SDK's Content-MD5 where required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
    ...overrides,
  });
}

export function createDocumentClient(env: Env = process.env, overrides: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
  const client = new DynamoDBClient({ ...(endpoint ? { endpoint } : {}), maxAttempts: 5, ...overrides });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
