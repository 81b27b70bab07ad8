/**
 * The SQS side of dead letters (no SQS stand-in runs here, so aws-sdk-client-mock plays SQS): a letter carries its
 * reason as message attributes; a redrive sends each letter to the ingest queue before deleting it, so a failure
 * part-way loses nothing; a listing consumes nothing. And the ingest handler's last attempt: the reason goes with
 * the letter, earlier attempts are retried.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { SQSEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it } from 'vitest';
import { keysOfLetter, listDeadLetters, redriveDeadLetters, sqsDeadLetterSink, type DeadLetter } from '../../functions/store/dead-letters.ts';
import { createIngestHandler, TIME_LIMIT_RESERVE_MS } from '../../functions/ingest/handler.ts';
import type { IngestDeps } from '../../functions/ingest/ingest-object.ts';
import type { ImageItems } from '../../functions/store/image-items.ts';

const sqsMock = mockClient(SQSClient);
afterEach(() => sqsMock.reset());

const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123/imagehub-dlq';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123/imagehub-events';
const bodyFor = (key: string) => JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'ingest' }, object: { key } } }] });

function messages(count: number, from = 0): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    MessageId: `m${from + i}`,
    ReceiptHandle: `r${from + i}`,
    Body: bodyFor(`folder/image+${from + i}.jpg`),
    MessageAttributes: {
      reason: { DataType: 'String', StringValue: `gave up after 3 attempts: reason ${from + i}` },
      attempts: { DataType: 'Number', StringValue: '3' },
      originalMessageId: { DataType: 'String', StringValue: `original-${from + i}` },
    },
  }));
}

describe('dead letters on SQS', () => {
  it('parks a letter with its reason, attempts, time and original message id as attributes', async () => {
    sqsMock.on(SendMessageCommand).resolves({});
    await sqsDeadLetterSink(new SQSClient({ region: 'eu-west-1' }), DLQ)({ messageId: 'abc', body: bodyFor('a.jpg'), reason: 'x'.repeat(5000), attempts: 3, failedAt: '2026-11-25T00:00:00Z' });
    const input = sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(input.QueueUrl).toBe(DLQ);
    expect(input.MessageBody).toBe(bodyFor('a.jpg'));
    expect(input.MessageAttributes?.reason?.StringValue).toHaveLength(2000);
    expect(input.MessageAttributes?.attempts).toEqual({ DataType: 'Number', StringValue: '3' });
    expect(input.MessageAttributes?.originalMessageId?.StringValue).toBe('abc');
  });

  it('redrives every letter, sending each to the ingest queue before deleting it from the dead-letter queue', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages(10) }).resolvesOnce({ Messages: messages(2, 10) }).resolves({ Messages: [] });
    sqsMock.on(SendMessageCommand).resolves({});
    sqsMock.on(DeleteMessageCommand).resolves({});
    const moved = await redriveDeadLetters({ sqs: new SQSClient({ region: 'eu-west-1' }), deadLetterQueueUrl: DLQ, queueUrl: QUEUE });
    expect(moved.map((l) => l.reason)).toEqual(Array.from({ length: 12 }, (_, i) => `gave up after 3 attempts: reason ${i}`));
    expect(moved[0]!.messageId).toBe('original-0');
    const calls = sqsMock.calls().map((call) => call.args[0]);
    const sends = calls.filter((c) => c instanceof SendMessageCommand) as SendMessageCommand[];
    expect(sends.map((c) => c.input.QueueUrl)).toEqual(Array(12).fill(QUEUE));
    // The attributes are not carried back: a replayed message is a fresh S3 notification.
    expect(sends.every((c) => c.input.MessageAttributes === undefined)).toBe(true);
    // Each delete follows its own send.
    const order = calls.filter((c) => c instanceof SendMessageCommand || c instanceof DeleteMessageCommand).map((c) => c.constructor.name[0]);
    expect(order.join('')).toBe('SD'.repeat(12));
  });

  it('loses nothing when the ingest queue refuses: the letter stays in the dead-letter queue', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages(3) }).resolves({ Messages: [] });
    sqsMock.on(SendMessageCommand).resolvesOnce({}).rejects(new Error('AccessDenied'));
    sqsMock.on(DeleteMessageCommand).resolves({});
    await expect(redriveDeadLetters({ sqs: new SQSClient({ region: 'eu-west-1' }), deadLetterQueueUrl: DLQ, queueUrl: QUEUE })).rejects.toThrow('AccessDenied');
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual(['r0']);
  });

  it('lists without consuming: every letter listed is made visible again', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages(4) }).resolves({ Messages: [] });
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    const letters = await listDeadLetters({ sqs: new SQSClient({ region: 'eu-west-1' }), deadLetterQueueUrl: DLQ });
    expect(letters).toHaveLength(4);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((c) => [c.args[0].input.ReceiptHandle, c.args[0].input.VisibilityTimeout])).toEqual([
      ['r0', 0], ['r1', 0], ['r2', 0], ['r3', 0],
    ]);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  });

  it('names the keys of a letter, decoded as S3 encodes them', () => {
    expect(keysOfLetter(bodyFor('folder/my+image%C3%A9.jpg'))).toEqual(['ingest/folder/my imageé.jpg']);
    expect(keysOfLetter('not json')).toEqual([]);
  });
});

describe('the ingest handler\'s last attempt', () => {
  const event = (receiveCount: number): SQSEvent => ({
    Records: [{
      messageId: 'msg', receiptHandle: 'r', body: bodyFor('museum/obj-1.jpg'), messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', awsRegion: 'x', eventSourceARN: 'arn',
      attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' },
    }],
  });
  const context = { getRemainingTimeInMillis: () => 900_000, functionName: 'f', awsRequestId: 'a' } as never;

  function rig(deadLetter?: (letter: DeadLetter) => Promise<void>, storage: () => Promise<never> = () => Promise.reject(Object.assign(new Error('We encountered an internal error'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }))) {
    const givenUp: string[] = [];
    const deps = {
      // Storage that always fails: the head of the master already throws.
      s3: { send: storage },
      items: { giveUp: (identifier: string, _key: string, reason: string) => Promise.resolve(void givenUp.push(`${identifier}: ${reason}`)) } as unknown as ImageItems,
    } as unknown as IngestDeps;
    const handler = createIngestHandler({ deps, logger: new Logger({ logLevel: 'SILENT' }), maxReceiveCount: 3, ...(deadLetter ? { deadLetter } : {}) });
    return { handler, givenUp };
  }

  it('retries before the last attempt: the message is reported failed, nothing is parked', async () => {
    const letters: DeadLetter[] = [];
    const { handler, givenUp } = rig(async (letter) => void letters.push(letter));
    expect((await handler(event(2), context)).batchItemFailures).toEqual([{ itemIdentifier: 'msg' }]);
    expect(letters).toEqual([]);
    expect(givenUp).toEqual([]);
  });

  it('on the last attempt marks the image failed and parks the message with the same reason', async () => {
    const letters: DeadLetter[] = [];
    const { handler, givenUp } = rig(async (letter) => void letters.push(letter));
    expect((await handler(event(3), context)).batchItemFailures).toEqual([]);
    expect(givenUp).toEqual(['museum:obj-1: gave up after 3 attempts on museum/obj-1.jpg: We encountered an internal error']);
    expect(letters).toMatchObject([{ messageId: 'msg', body: bodyFor('museum/obj-1.jpg'), attempts: 3, reason: 'gave up after 3 attempts on museum/obj-1.jpg: We encountered an internal error' }]);
  });

  it('stops an attempt before the function\'s time limit, so the last one can still say why', async () => {
    const letters: DeadLetter[] = [];
    // Storage that never answers: only the time limit ends the attempt.
    const { handler, givenUp } = rig(async (letter) => void letters.push(letter), () => new Promise<never>(() => undefined));
    const nearLimit = { getRemainingTimeInMillis: () => TIME_LIMIT_RESERVE_MS + 50, functionName: 'f', awsRequestId: 'a' } as never;
    expect((await handler(event(1), nearLimit)).batchItemFailures).toEqual([{ itemIdentifier: 'msg' }]);
    expect((await handler(event(3), nearLimit)).batchItemFailures).toEqual([]);
    expect(letters.map((l) => l.reason)).toEqual([expect.stringMatching(/^gave up after 3 attempts on museum\/obj-1\.jpg: the ingest did not finish within the function's time limit/)]);
    expect(givenUp).toHaveLength(1);
  });

  it('leaves the message to the redrive policy when the dead-letter queue cannot be written', async () => {
    const { handler } = rig(() => Promise.reject(new Error('queue unreachable')));
    expect((await handler(event(3), context)).batchItemFailures).toEqual([{ itemIdentifier: 'msg' }]);
  });
});
