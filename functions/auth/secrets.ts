/**
 * Where the staff password and the signing key come from: Secrets Manager in AWS (the stack's two secrets,
 * `{"password": "…"}` and `{"signingKey": "…"}`, read once per five minutes per Lambda instance), or
 * `{data}/auth.json` on one machine, generated on first start. IMAGEHUB_STAFF_PASSWORD overrides the local password.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AuthSecrets } from './answer-auth-request.ts';

export const LOCAL_AUTH_FILE = 'auth.json';
const CACHE_MS = 5 * 60 * 1000;
/** Shorter keys would make the signatures guessable; Secrets Manager's generated strings are 32 characters. */
const MIN_SIGNING_KEY_LENGTH = 32;

/** A secret's JSON object; a clear error names what is wrong (never the values). */
function secretObject(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${where}: the secret is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: the secret must be a JSON object`);
  return value as Record<string, unknown>;
}

function checkedSigningKey(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length < MIN_SIGNING_KEY_LENGTH) {
    throw new Error(`${where}: "signingKey" must be a string of at least ${MIN_SIGNING_KEY_LENGTH} characters`);
  }
  return value;
}

/** The auth secrets from one JSON object `{"password": "…", "signingKey": "…"}`, checked. */
export function parseAuthSecrets(text: string, where: string): AuthSecrets {
  return authSecretsOf(secretObject(text, where), where);
}

function authSecretsOf(value: Record<string, unknown>, where: string): AuthSecrets {
  const { password, signingKey } = value;
  if (typeof password !== 'string' || password.length === 0) throw new Error(`${where}: no non-empty string "password"`);
  return { password, signingKey: checkedSigningKey(signingKey, where) };
}

export interface SecretsManagerOptions {
  cacheMs?: number;
  now?: () => number;
}

/**
 * Secrets Manager secrets' JSON objects merged (the stack keeps the staff password and the signing key in two
 * secrets, so each function reads only what it needs), cached: a Lambda instance reads them at most once per five
 * minutes (a changed password is in force within that), and concurrent first calls share one read. Failures are
 * not cached.
 */
function cachedSecretObjects(
  arns: readonly string[],
  client: Pick<SecretsManagerClient, 'send'>,
  options: SecretsManagerOptions,
): () => Promise<Record<string, unknown>> {
  const cacheMs = options.cacheMs ?? CACHE_MS;
  const clock = options.now ?? Date.now;
  let cached: { at: number; value: Promise<Record<string, unknown>> } | undefined;
  return () => {
    if (cached && clock() - cached.at < cacheMs) return cached.value;
    const value = (async () => {
      const merged: Record<string, unknown> = {};
      for (const arn of arns) {
        const output = await client.send(new GetSecretValueCommand({ SecretId: arn }));
        const text = output.SecretString ?? (output.SecretBinary ? Buffer.from(output.SecretBinary).toString('utf8') : undefined);
        if (text === undefined) throw new Error(`secret ${arn}: no value`);
        Object.assign(merged, secretObject(text, `secret ${arn}`));
      }
      return merged;
    })();
    const entry = { at: clock(), value };
    cached = entry;
    value.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return value;
  };
}

/** The staff password and the signing key (the auth service), from one or more secrets. */
export function secretsFromSecretsManager(
  arns: string | readonly string[],
  client: Pick<SecretsManagerClient, 'send'> = new SecretsManagerClient({}),
  options: SecretsManagerOptions = {},
): () => Promise<AuthSecrets> {
  const list = typeof arns === 'string' ? [arns] : arns;
  const read = cachedSecretObjects(list, client, options);
  return async () => authSecretsOf(await read(), `secrets ${list.join(', ')}`);
}

/** The signing key alone (the Image API checks cookies; it never needs, nor may read, the password). */
export function signingKeyFromSecretsManager(
  arn: string,
  client: Pick<SecretsManagerClient, 'send'> = new SecretsManagerClient({}),
  options: SecretsManagerOptions = {},
): () => Promise<string> {
  const read = cachedSecretObjects([arn], client, options);
  return async () => checkedSigningKey((await read()).signingKey, `secret ${arn}`);
}

export interface LocalAuth {
  secrets: AuthSecrets;
  /** The file holding the generated password and key; absent when kept in memory (no data folder). */
  file?: string;
  /** True when this start generated the file (or the in-memory secrets): the password is new. */
  created: boolean;
  /** Where the password in force comes from. */
  passwordFrom: 'environment' | 'file' | 'generated';
}

/**
 * The one-machine secrets: `{dataDir}/auth.json` (mode 0600), created with a random password and signing key on
 * first start; without a data folder, random ones in memory. IMAGEHUB_STAFF_PASSWORD, when set, is the password.
 */
export function localSecrets(dataDir: string | undefined, env: Record<string, string | undefined> = process.env): LocalAuth {
  const override = env.IMAGEHUB_STAFF_PASSWORD;
  const withOverride = (stored: AuthSecrets, created: boolean, file?: string): LocalAuth => ({
    secrets: override ? { ...stored, password: override } : stored,
    created,
    passwordFrom: override ? 'environment' : created ? 'generated' : 'file',
    ...(file ? { file } : {}),
  });
  if (!dataDir) return withOverride(generate(), true);
  const file = join(dataDir, LOCAL_AUTH_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) return withOverride(parseAuthSecrets(text, file), false, file);
  const generated = generate();
  mkdirSync(dataDir, { recursive: true });
  try {
    // `wx`: never overwrite a file another process wrote meanwhile; 0600: the password is for this user only.
    writeFileSync(file, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return withOverride(parseAuthSecrets(readFileSync(file, 'utf8'), file), false, file);
    throw error;
  }
  return withOverride(generated, true, file);
}

function generate(): AuthSecrets {
  return { password: randomBytes(15).toString('base64url'), signingKey: randomBytes(32).toString('base64url') };
}
