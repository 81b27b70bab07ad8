/**
 * The `imagehub` command line (`npx imagehub …`). Each command works against the imagehub `npm start` runs here or
 * against an AWS deployment (functions/cli/target.ts). Errors are said in plain words, without stack traces;
 * `IMAGEHUB_DEBUG=1` adds them.
 */
import { harvestCommand, HARVEST_HELP, type CommandIo } from './harvest-command.ts';
import { ingestCommand, INGEST_HELP } from './ingest-command.ts';
import { redriveCommand, REDRIVE_HELP } from './redrive-command.ts';
import { statusCommand, STATUS_HELP } from './status-command.ts';
import { UsageError } from './target.ts';

const HELP = `imagehub: serverless IIIF for museum collections

Usage: imagehub <command> [options]

Commands:
  ingest     upload image files or folders to the ingest bucket and wait until each is ready or failed
  status     one image's state, the latest ingests and failures, or a harvest source's last run
  harvest    load LIDO records from files or an OAI-PMH repository into the record mirror
  redrive    list the ingest's dead letters with their reasons, or replay them into the ingest queue

Run \`imagehub <command> --help\` for a command's options. Commands talk to the imagehub \`npm start\` runs on
this machine, or to an AWS deployment given with --table or --outputs cdk-outputs.json.`;

const COMMANDS: Record<string, { run: (args: string[], io: CommandIo) => Promise<number>; help: string }> = {
  ingest: { run: ingestCommand, help: INGEST_HELP },
  status: { run: statusCommand, help: STATUS_HELP },
  harvest: { run: harvestCommand, help: HARVEST_HELP },
  redrive: { run: redriveCommand, help: REDRIVE_HELP },
};

export async function runCli(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? args[0] : undefined;
    io.stdout.write(`${topic && COMMANDS[topic] ? COMMANDS[topic].help : HELP}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`imagehub: unknown command "${name}"\n\n${HELP}\n`);
    return 2;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr.write(`imagehub ${name}: ${(error as Error).message}\n`);
      return 2;
    }
    io.stderr.write(`imagehub ${name}: ${plainWords(error)}\n`);
    if (io.env.IMAGEHUB_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** The few failures people meet, said so they know what to do. */
function plainWords(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  if (name === 'CredentialsProviderError') return `no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) (${message})`;
  if (name === 'ResourceNotFoundException') return `the table does not exist or is not in this region: ${message}`;
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return `AWS refused access: ${message}`;
  if (name === 'NoSuchBucket') return `the bucket does not exist (check --bucket or the deployment): ${message}`;
  if (code === 'ECONNREFUSED') return `cannot connect (${message}): is the imagehub still running?`;
  if (code === 'ENOTFOUND') return `host not found (${message})`;
  return message;
}
