/**
 * The benchmarks run imagehub as Lambda runs it: an esbuild bundle on plain Node (not through tsx), in a process of
 * its own so its peak RSS is its own. Packages with native or WebAssembly parts stay outside, as in the layer.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable, startStandIns, type StandIns } from '../../functions/local/stand-ins.ts';
import { PROJECT_ROOT } from './master.ts';

const EXTERNAL = ['sharp', 'iiif-processor', '@cornerstonejs/codec-openjpeg', 'libheif-js'];

/** Bundle `test/bench/{name}.ts` into node_modules/.cache and return the bundle's path. */
export async function bundleBench(name: string): Promise<string> {
  const outfile = join(PROJECT_ROOT, `node_modules/.cache/imagehub-bench/${name}.mjs`);
  await build({
    entryPoints: [join(PROJECT_ROOT, 'test/bench', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // Bundled CommonJS dependencies call require(); an ES module has none unless we make one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * Run a bundle and parse the JSON on its last line of output. Asynchronous on purpose: stand-ins serving the child
 * (S3, DynamoDB, OAI-PMH) live in this process's event loop and must keep answering.
 */
export async function runBench<T>(bundle: string, args: string[]): Promise<T> {
  const child = spawn(process.execPath, [bundle, ...args], { env: { ...process.env, NODE_OPTIONS: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${bundle} failed: ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

/**
 * The DynamoDB stand-in (in this process) with the metadata table, and the environment that points bench workers
 * (children of this process) at it.
 */
export async function startBenchTable(tableName: string): Promise<StandIns> {
  const standIns = await startStandIns();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: standIns.dynamoEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  await ensureTable(new DynamoDBClient({ endpoint: standIns.dynamoEndpoint }), tableName);
  return standIns;
}
