/**
 * The local stand-in for SQS: redelivery up to the receive count, then the dead-letter list, which survives a
 * restart in its file, is replayed by `redrive`, and when damaged is set aside rather than stopping `npm start`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalQueue } from '../../functions/local/local-queue.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const fileIn = () => {
  const dir = mkdtempSync(join(tmpdir(), 'imagehub-queue-'));
  dirs.push(dir);
  return join(dir, 'dead-letters.json');
};

/** A consumer failing every message whose body is in `failing`, recording each receive. */
function consumer(failing: Set<string>) {
  const received: { body: string; count: string | undefined }[] = [];
  const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    for (const r of event.Records) received.push({ body: r.body, count: r.attributes.ApproximateReceiveCount });
    return { batchItemFailures: event.Records.filter((r) => failing.has(r.body)).map((r) => ({ itemIdentifier: r.messageId })) };
  };
  return { handler, received };
}

describe('LocalQueue', () => {
  it('redelivers a failing message up to the receive count, then keeps it as a dead letter in its file', async () => {
    const file = fileIn();
    const { handler, received } = consumer(new Set(['bad']));
    const queue = new LocalQueue(handler, { retryDelayMs: 1, maxReceiveCount: 3, deadLetterFile: file });
    queue.send('good');
    queue.send('bad');
    await queue.idle();
    expect(received.filter((r) => r.body === 'bad').map((r) => r.count)).toEqual(['1', '2', '3']);
    expect(received.filter((r) => r.body === 'good')).toHaveLength(1);
    expect(queue.deadLetters.map((l) => [l.body, l.attempts, l.reason])).toEqual([['bad', 3, undefined]]);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { body: string }[]).map((l) => l.body)).toEqual(['bad']);

    // A restart reads the list back; redrive replays it and empties the file.
    const healed = consumer(new Set());
    const restarted = new LocalQueue(healed.handler, { retryDelayMs: 1, deadLetterFile: file });
    expect(restarted.deadLetters.map((l) => l.body)).toEqual(['bad']);
    expect(restarted.redrive().map((l) => l.body)).toEqual(['bad']);
    await restarted.idle();
    expect(healed.received.map((r) => r.body)).toEqual(['bad']);
    expect(restarted.deadLetters).toEqual([]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('sets a damaged dead-letter file aside instead of failing to start', () => {
    const file = fileIn();
    writeFileSync(file, '[{"body": "half a');
    const queue = new LocalQueue(consumer(new Set()).handler, { deadLetterFile: file });
    expect(queue.deadLetters).toEqual([]);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(join(file, '..')).filter((name) => name.startsWith('dead-letters.json.unreadable-'))).toHaveLength(1);
  });
});
