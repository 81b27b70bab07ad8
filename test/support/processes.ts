/**
 * Processes the end-to-end, browser and CLI tests run as a user would: `npm start` and the `imagehub` binary.
 * Always asynchronous: stand-ins serving those processes may live in the test's own event loop.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const IMAGEHUB_BIN = join(ROOT, 'bin/imagehub.mjs');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to its end in the project folder. */
export function run(command: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The real `imagehub` CLI. */
export function runImagehub(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return run(process.execPath, [IMAGEHUB_BIN, ...args], { NODE_OPTIONS: '', ...env });
}

export interface NpmStart {
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Stops it and everything it started (its own process group). */
  stop(): Promise<void>;
}

/**
 * `npm start` on a data folder, on a free port; resolves once it prints its URL. The demo is off unless `env` turns
 * it on (IMAGEHUB_DEMO: undefined leaves the default, which loads it into an empty folder).
 */
export async function startNpmStart(data: string, env: Record<string, string | undefined> = { IMAGEHUB_DEMO: '0' }, timeoutMs = 90_000): Promise<NpmStart> {
  const childEnv: Record<string, string | undefined> = { ...process.env, IMAGEHUB_DATA: data, PORT: '0', NODE_OPTIONS: '', ...env };
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
  // Its own process group, so that stopping it stops `node` too and not just npm's shell.
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGTERM');
    await exited;
  };
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL:\n${output}`)), timeoutMs);
    const look = () => {
      const match = /running at (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off('data', look);
      resolveUrl(match[1]!);
    };
    child.stdout.on('data', look);
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  return { url, output: () => output, stop };
}

/** Poll a URL until it answers 200 or the time is up; the last response either way. */
export async function waitFor200(address: string, timeoutMs = 90_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(address);
    if (response.status === 200 || Date.now() > deadline) return response;
    await response.body?.cancel();
    await new Promise((r) => setTimeout(r, 250));
  }
}
