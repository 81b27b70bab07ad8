/**
 * The deployed ingest entry point (functions/ingest/handler.ts `handler`) in a process of its own, configured from
 * the environment as the Lambda is, fed one SQS event (SQS_EVENT): so a test can kill it mid-ingest, as a Lambda
 * timeout or a lost container would.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent } from 'aws-lambda';
import { handler } from '../../functions/ingest/handler.ts';

const event = JSON.parse(process.env.SQS_EVENT ?? '') as SQSEvent;
const started = Date.now();
const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'imagehub-ingest-child',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:imagehub-ingest-child',
  memoryLimitInMB: '3008',
  awsRequestId: randomUUID(),
  logGroupName: 'local',
  logStreamName: 'local',
  getRemainingTimeInMillis: () => 15 * 60 * 1000 - (Date.now() - started),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};
const response = await handler(event, context);
process.stdout.write(`${JSON.stringify(response)}\n`);
