/**
 * `imagehub redrive`: the ingest's dead letters (messages it gave up on, each with its reason) listed or replayed
 * into the ingest queue. Locally it asks the running `npm start` (its queue lives in that process); on AWS it moves
 * the messages between the two SQS queues named by the deployment's outputs.
 */
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { keysOfLetter, listDeadLetters, redriveDeadLetters, type DeadLetter } from '../store/dead-letters.ts';
import type { CommandIo } from './harvest-command.ts';
import { COMMON_OPTIONS, readStackOutputs, resolveTarget, TARGET_OPTIONS, targetHelp, UsageError } from './target.ts';

export const REDRIVE_HELP = `Usage:
  imagehub redrive [options]          replay every dead letter into the ingest queue
  imagehub redrive --list [options]   show the dead letters and why each failed, without replaying them

A dead letter is an upload (or removal) the ingest gave up on after its last attempt: storage unreachable for
minutes, a misconfiguration. The image's status says the same reason. Fix the cause, then redrive: the ingest is
idempotent, so an image already done is left as it is.

  --list                      list only
  --queue URL                 AWS: the ingest queue (default: the IngestQueueUrl output of --outputs)
  --dead-letter-queue URL     AWS: its dead-letter queue (default: the DeadLetterQueueUrl output of --outputs)

${targetHelp()}

  --json               print JSON
  -h, --help           this help

Exit status: 0 when done (also when there was nothing to replay), 1 on failure, 2 for a usage error.`;

export async function redriveCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      ...TARGET_OPTIONS,
      ...COMMON_OPTIONS,
      list: { type: 'boolean' },
      queue: { type: 'string' },
      'dead-letter-queue': { type: 'string' },
    },
  });
  if (values.help) {
    io.stdout.write(`${REDRIVE_HELP}\n`);
    return 0;
  }
  const aws = values.outputs !== undefined || values['dead-letter-queue'] !== undefined || values.table !== undefined;
  const letters = aws ? await onAws(values, io) : await onLocal(values, io);
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ [values.list ? 'deadLetters' : 'redriven']: letters.map((l) => ({ ...l, keys: keysOfLetter(l.body) })) }, null, 2)}\n`);
    return 0;
  }
  for (const letter of letters) io.stdout.write(`${describe(letter)}\n`);
  const count = `${letters.length} dead letter${letters.length === 1 ? '' : 's'}`;
  io.stderr.write(values.list ? `${count}\n` : `${count} replayed into the ingest queue; follow them with \`imagehub status\`\n`);
  return 0;
}

async function onLocal(values: { data?: string; list?: boolean }, io: CommandIo): Promise<DeadLetter[]> {
  const target = resolveTarget({ ...(values.data ? { data: values.data } : {}) }, io.env);
  target.close();
  if (target.kind !== 'local' || !target.publicUrl) throw new UsageError('no local imagehub to ask');
  const response = await fetch(`${target.publicUrl}/api/dead-letters${values.list ? '' : '/redrive'}`, {
    method: values.list ? 'GET' : 'POST',
    signal: AbortSignal.timeout(60_000),
  });
  if (!response.ok) throw new Error(`${target.description} answered HTTP ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { deadLetters?: DeadLetter[]; redriven?: DeadLetter[] };
  return body.deadLetters ?? body.redriven ?? [];
}

async function onAws(values: { outputs?: string; region?: string; queue?: string; 'dead-letter-queue'?: string; list?: boolean }, io: CommandIo): Promise<DeadLetter[]> {
  const outputs = values.outputs ? readStackOutputs(values.outputs) : {};
  const deadLetterQueueUrl = values['dead-letter-queue'] ?? outputs.DeadLetterQueueUrl;
  const queueUrl = values.queue ?? outputs.IngestQueueUrl;
  if (!deadLetterQueueUrl) throw new UsageError('name the dead-letter queue: --dead-letter-queue URL, or --outputs cdk-outputs.json');
  if (!queueUrl && !values.list) throw new UsageError('name the ingest queue to replay into: --queue URL, or --outputs cdk-outputs.json');
  const region = values.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION ?? regionOfQueue(deadLetterQueueUrl);
  const sqs = new SQSClient({ ...(region ? { region } : {}) });
  try {
    if (values.list) return await listDeadLetters({ sqs, deadLetterQueueUrl });
    return await redriveDeadLetters({ sqs, deadLetterQueueUrl, queueUrl: queueUrl! });
  } finally {
    sqs.destroy();
  }
}

/** `https://sqs.eu-west-1.amazonaws.com/123/name` → `eu-west-1`. */
function regionOfQueue(url: string): string | undefined {
  return /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\//.exec(url)?.[1];
}

function describe(letter: DeadLetter): string {
  const keys = keysOfLetter(letter.body);
  const what = keys.length > 0 ? keys.join(', ') : `message ${letter.messageId} (not an S3 notification)`;
  const when = [letter.attempts ? `${letter.attempts} attempts` : '', letter.failedAt ?? ''].filter(Boolean).join(', ');
  return `${what}: ${letter.reason ?? 'no reason recorded (the function was stopped: time limit or memory?)'}${when ? ` [${when}]` : ''}`;
}
