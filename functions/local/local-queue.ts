/**
 * The one-machine stand-in for the ingest queue: S3 notifications become SQS-shaped records delivered to the real
 * ingest handler one batch at a time, failed records are redelivered with back-off, and after `maxReceiveCount`
 * attempts they land in a dead-letter list, as SQS with a redrive policy does. The handler parks letters with
 * their reason through {@link LocalQueue.deadLetter}; with a file the list survives a restart, and
 * {@link LocalQueue.redrive} replays it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { DeadLetter } from '../store/dead-letters.ts';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

interface Message {
  id: string;
  body: string;
  receiveCount: number;
  notBefore: number;
}

export interface LocalQueueOptions {
  batchSize?: number;
  maxReceiveCount?: number;
  /** First redelivery delay; doubled per attempt. */
  retryDelayMs?: number;
  onDeadLetter?: (letter: DeadLetter) => void;
  /** A JSON file keeping the dead letters across restarts (`{data}/dead-letters.json`); in memory without one. */
  deadLetterFile?: string;
}

export class LocalQueue {
  private readonly messages: Message[] = [];
  readonly deadLetters: DeadLetter[] = [];
  private running: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: Handler,
    private readonly options: LocalQueueOptions = {},
  ) {
    const file = options.deadLetterFile;
    if (file && existsSync(file)) {
      try {
        this.deadLetters.push(...(JSON.parse(readFileSync(file, 'utf8')) as DeadLetter[]));
      } catch {
        // A damaged list must not stop `npm start`: it is kept aside for a person to read, not overwritten.
        renameSync(file, `${file}.unreadable-${Date.now()}`);
      }
    }
  }

  send(body: string): void {
    this.messages.push({ id: randomUUID(), body, receiveCount: 0, notBefore: 0 });
    this.start();
  }

  /** Park a message the consumer gave up on, with its reason: the handler's dead-letter sink. */
  deadLetter(letter: DeadLetter): Promise<void> {
    this.deadLetters.push(letter);
    this.persist();
    this.options.onDeadLetter?.(letter);
    return Promise.resolve();
  }

  /** Every dead letter back into the queue, as fresh messages; returns what was replayed. */
  redrive(): DeadLetter[] {
    const letters = this.deadLetters.splice(0);
    this.persist();
    for (const letter of letters) this.send(letter.body);
    return letters;
  }

  private persist(): void {
    const file = this.options.deadLetterFile;
    if (!file) return;
    // Written whole and renamed, so a crash mid-write leaves the previous list rather than half of one.
    writeFileSync(`${file}.tmp`, `${JSON.stringify(this.deadLetters, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  }

  private start(): void {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /** Resolves when every message has been handled or dead-lettered. */
  async idle(): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(): Promise<void> {
    const { batchSize = 5, maxReceiveCount = 3, retryDelayMs = 1000 } = this.options;
    while (this.messages.length) {
      const now = Date.now();
      const ready = this.messages.filter((m) => m.notBefore <= now).slice(0, batchSize);
      if (ready.length === 0) {
        await new Promise((r) => setTimeout(r, Math.max(10, Math.min(...this.messages.map((m) => m.notBefore)) - now)));
        continue;
      }
      for (const m of ready) this.messages.splice(this.messages.indexOf(m), 1);
      for (const m of ready) m.receiveCount += 1;
      let failed: Set<string>;
      try {
        const response = await this.handler({ Records: ready.map(toRecord) }, localContext());
        failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      } catch {
        failed = new Set(ready.map((m) => m.id));
      }
      for (const m of ready) {
        if (!failed.has(m.id)) continue;
        if (m.receiveCount >= maxReceiveCount) {
          // The redrive policy's way: the consumer failed on the last attempt without parking the message itself.
          void this.deadLetter({ messageId: m.id, body: m.body, attempts: m.receiveCount, failedAt: new Date().toISOString() });
        } else {
          m.notBefore = Date.now() + retryDelayMs * 2 ** (m.receiveCount - 1);
          this.messages.push(m);
        }
      }
    }
  }
}

function toRecord(m: Message): SQSRecord {
  return {
    messageId: m.id,
    receiptHandle: m.id,
    body: m.body,
    attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:imagehub-ingest',
    awsRegion: 'local',
  };
}

function localContext(): Context {
  const start = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'imagehub-ingest-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:imagehub-ingest-local',
    memoryLimitInMB: '10240',
    awsRequestId: randomUUID(),
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 15 * 60 * 1000 - (Date.now() - start),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** S3 URL-encodes keys in notifications (spaces as `+`); s3rver does not, so the bridge does. */
export function encodeKeyLikeS3(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}
