/**
 * The ingest's dead-letter queue, on SQS. A message the ingest gave up on is sent here by the handler itself, with
 * why as message attributes (SQS's redrive policy stays behind it as the safety net for a function that dies
 * before it can say why: those letters arrive without a reason). `redriveDeadLetters` moves them back to the
 * ingest queue: the ingest is idempotent, so a letter replayed twice still leaves one result.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { MalformedEventError, objectEventsFromMessage } from '../core/s3-events.ts';

export interface DeadLetter {
  /** The message id it had in the ingest queue. */
  messageId: string;
  body: string;
  /** Why the ingest gave up; absent when the function was stopped before it could say (timeout, out of memory). */
  reason?: string;
  attempts?: number;
  failedAt?: string;
}

/** Where a dead letter is put: SQS on AWS, the local queue's list on one machine. */
export type DeadLetterSink = (letter: DeadLetter) => Promise<void>;

/** The S3 keys a letter is about, for people reading a list of them. */
export function keysOfLetter(body: string): string[] {
  try {
    return objectEventsFromMessage(body).map((event) => `${event.kind === 'removed' ? 'removed ' : ''}${event.bucket}/${event.key}`);
  } catch (error) {
    if (error instanceof MalformedEventError) return [];
    throw error;
  }
}

/** SQS message attributes are limited to 256 KiB with the body; a reason is a sentence, a stack is not needed. */
const MAX_REASON_CHARS = 2000;

export function sqsDeadLetterSink(sqs: SQSClient, queueUrl: string): DeadLetterSink {
  return async (letter) => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: letter.body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: (letter.reason ?? 'no reason recorded').slice(0, MAX_REASON_CHARS) },
          attempts: { DataType: 'Number', StringValue: String(letter.attempts ?? 0) },
          failedAt: { DataType: 'String', StringValue: letter.failedAt ?? new Date().toISOString() },
          originalMessageId: { DataType: 'String', StringValue: letter.messageId },
        },
      }),
    );
  };
}

function letterOf(message: Message): DeadLetter {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const attempts = Number(attribute('attempts') ?? message.Attributes?.ApproximateReceiveCount);
  return {
    messageId: attribute('originalMessageId') ?? message.MessageId ?? '',
    body: message.Body ?? '',
    ...(attribute('reason') ? { reason: attribute('reason') } : {}),
    ...(Number.isFinite(attempts) && attempts > 0 ? { attempts } : {}),
    ...(attribute('failedAt') ? { failedAt: attribute('failedAt') } : {}),
  };
}

export interface SqsQueues {
  sqs: SQSClient;
  deadLetterQueueUrl: string;
  /** The ingest queue, where redriven letters go. */
  queueUrl: string;
}

/**
 * Read every letter without consuming it: each is hidden while the listing runs (so it is counted once), then
 * made visible again.
 */
export async function listDeadLetters({ sqs, deadLetterQueueUrl }: Omit<SqsQueues, 'queueUrl'>): Promise<DeadLetter[]> {
  const seen: Message[] = [];
  try {
    for (;;) {
      const batch = await receive(sqs, deadLetterQueueUrl, 120);
      if (batch.length === 0) break;
      seen.push(...batch);
    }
    return seen.map(letterOf);
  } finally {
    for (const message of seen) {
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
    }
  }
}

/**
 * Move every letter back to the ingest queue. Sent before it is deleted: a crash between the two replays a letter
 * twice, which the ingest absorbs, and never loses one.
 */
export async function redriveDeadLetters({ sqs, deadLetterQueueUrl, queueUrl }: SqsQueues, onLetter: (letter: DeadLetter) => void = () => undefined): Promise<DeadLetter[]> {
  const moved: DeadLetter[] = [];
  for (;;) {
    const batch = await receive(sqs, deadLetterQueueUrl, 300);
    if (batch.length === 0) return moved;
    for (const message of batch) {
      const letter = letterOf(message);
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: letter.body }));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }));
      moved.push(letter);
      onLetter(letter);
    }
  }
}

async function receive(sqs: SQSClient, queueUrl: string, visibilityTimeout: number): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      // A short wait, so an almost empty queue's few messages on other servers are found (SQS samples servers).
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilityTimeout,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  return out.Messages ?? [];
}
