/**
 * The deployment's configuration, read from CDK context (`-c key=value` or cdk.json) and validated before anything
 * is built: every problem is collected and reported in one error, in plain words, so a bad `cdk deploy` fails at
 * synth with the whole list rather than half-way through CloudFormation or later at a function's cold start.
 * Pure: no I/O, no construct tree; bin/cdk-app.ts hands it the context.
 */
import { Duration } from 'aws-cdk-lib';
import { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { parseAccessSettings } from '../functions/core/access-policy.ts';
import { ConfigError, parseIngestSettings } from '../functions/core/settings.ts';
import type { ImagehubStackProps } from './imagehub-stack.ts';
import { STAGES, type Stage } from './stage.ts';

/** Every context key imagehub reads (besides `settings.IMAGEHUB_*`). */
export const CONTEXT_KEYS = [
  'stage', 'stackName', 'domainName', 'certificateArn', 'ingestBucketName', 'derivativeBucketName', 'protectedBucketName', 'priceClass',
  'ingestMemoryMiB', 'ingestMaxConcurrency', 'oaiBaseUrl', 'oaiSet', 'oaiMetadataPrefix', 'harvestEveryMinutes',
  'rightsCsvUrl', 'copyrightsCsvUrl', 'logRetentionDays', 'masterVersionRetentionDays', 'alarmEmail', 'settings',
] as const;

/**
 * The IMAGEHUB_* settings of the image pipeline a deployment may set (`settings.IMAGEHUB_TILE_SIZE=256`): those
 * parseIngestSettings reads, but for IMAGEHUB_PUBLIC_URL, which the stack sets itself (the custom domain or the
 * distribution's). A test keeps this list equal to what parseIngestSettings reads.
 */
export const INGEST_DEPLOYMENT_SETTINGS = [
  'IMAGEHUB_TILE_SIZE',
  'IMAGEHUB_MAX_INPUT_PIXELS',
  'IMAGEHUB_MAX_AREA',
  'IMAGEHUB_JPEG_QUALITY',
  'IMAGEHUB_UPLOAD_CONCURRENCY',
  'IMAGEHUB_UPSCALING',
  'IMAGEHUB_MAX_INLINE_BYTES',
] as const;

/**
 * The rights-aware access settings (issue 8): the long side anyone may see of a restricted-size image, the default
 * policy, per-institution defaults (`mskgent.be=restricted-size,kmska.be=open`) and how long a staff login lasts.
 * Checked here by {@link accessSettingProblems}.
 */
export const ACCESS_DEPLOYMENT_SETTINGS = [
  'IMAGEHUB_ACCESS_MAX_LONG_SIDE',
  'IMAGEHUB_ACCESS_DEFAULT',
  'IMAGEHUB_ACCESS_INSTITUTIONS',
  'IMAGEHUB_AUTH_SESSION_HOURS',
] as const;

/** Every IMAGEHUB_* setting a deployment may set. */
export const DEPLOYMENT_SETTINGS = [...INGEST_DEPLOYMENT_SETTINGS, ...ACCESS_DEPLOYMENT_SETTINGS] as const;

/** The access settings among `settings`, for the functions that need only those (auth, access review, harvest). */
export function accessSettingsOf(settings: Readonly<Record<string, string>> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).filter(([name]) => (ACCESS_DEPLOYMENT_SETTINGS as readonly string[]).includes(name)));
}

/**
 * What is wrong with the access settings given (none: all good), each problem naming its setting: the
 * IMAGEHUB_ACCESS_* ones by the functions' own parser (what a cold start would refuse), the session length as a
 * whole number of hours from 1 to 720 (30 days).
 */
export function accessSettingProblems(settings: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  try {
    parseAccessSettings(settings);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.message.replace(/^invalid configuration: /, '').split('; '));
  }
  const hours = settings.IMAGEHUB_AUTH_SESSION_HOURS;
  if (hours !== undefined && (!/^\d+$/.test(hours) || Number(hours) < 1 || Number(hours) > 720)) {
    problems.push(`IMAGEHUB_AUTH_SESSION_HOURS must be an integer between 1 and 720, got "${hours}"`);
  }
  return problems;
}

/** What the stack puts in the functions' environment itself; parseIngestSettings gets placeholders for them. */
const SET_BY_THE_STACK = {
  IMAGEHUB_PUBLIC_URL: 'https://placeholder.cloudfront.net',
  DERIVATIVE_BUCKET: 'placeholder-derivatives',
  IMAGEHUB_PROTECTED_BUCKET: 'placeholder-protected-derivatives',
  TABLE_NAME: 'placeholder-table',
};

export const PRICE_CLASSES: Readonly<Record<string, PriceClass>> = {
  '100': PriceClass.PRICE_CLASS_100,
  '200': PriceClass.PRICE_CLASS_200,
  all: PriceClass.PRICE_CLASS_ALL,
};

/** The retention periods CloudWatch Logs accepts, in days (RetentionDays without INFINITE). */
export const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays)
  .filter((value): value is number => typeof value === 'number' && value !== RetentionDays.INFINITE)
  .sort((a, b) => a - b);

export const DEFAULT_HARVEST_EVERY_MINUTES = 60;
export const DEFAULT_MASTER_VERSION_RETENTION_DAYS = 90;

/** The configuration was wrong: `problems` lists each problem, the message all of them. */
export class ContextError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `imagehub: the deployment's configuration (CDK context) has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSet context with `-c key=value` or in cdk.json; every key is described in the README, "Deploy to AWS".',
    );
    this.name = 'ContextError';
  }
}

/**
 * The stack's props from CDK context. `get` reads one key (`app.node.tryGetContext`); `keys` are all the keys the
 * context holds (`Object.keys(app.node.getAllContext())`), to find the `settings.IMAGEHUB_*` ones and typos of
 * imagehub's own keys. Throws one ContextError listing every problem.
 */
export function stackPropsFromContext(get: (key: string) => unknown, keys: Iterable<string> = []): ImagehubStackProps & { stackName: string } {
  const problems: string[] = [];
  const allKeys = [...keys];

  /** A context value as text; unset, null and '' are "not given" (so CI can pass empty variables). */
  const text = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    problems.push(`${key} must be a single value, got ${JSON.stringify(value)}`);
    return undefined;
  };
  const integer = (key: string, min: number, max: number, unit: string): number | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    const value = Number(raw.replace(/_/g, ''));
    if (!/^\d[\d_]*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${key} must be a whole number of ${unit} from ${min} to ${max}, got "${raw}"`);
      return undefined;
    }
    return value;
  };
  const url = (key: string): string | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    if (!isHttpUrl(raw)) {
      problems.push(`${key} must be an absolute http:// or https:// URL, got "${raw}"`);
      return undefined;
    }
    return raw;
  };

  // Stage and stack name.
  const stageRaw = text('stage');
  let stage: Stage = 'prod';
  if (stageRaw !== undefined) {
    if ((STAGES as readonly string[]).includes(stageRaw)) stage = stageRaw as Stage;
    else problems.push(`stage must be ${STAGES.join(' or ')}, got "${stageRaw}"`);
  }
  const stackName = text('stackName') ?? 'Imagehub';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    problems.push(`stackName must start with a letter and hold only letters, digits and hyphens (at most 128), got "${stackName}"`);
  }

  // The CDN: custom domain and certificate, price class.
  const domainName = text('domainName');
  const certificateArn = text('certificateArn');
  if (domainName !== undefined && !isHostName(domainName)) {
    problems.push(`domainName must be a host name such as iiif.museum.be (no scheme, path or wildcard), got "${domainName}"`);
  }
  if (certificateArn !== undefined) {
    const arn = /^arn:aws:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/.exec(certificateArn);
    if (!arn) problems.push(`certificateArn must be an ACM certificate ARN (arn:aws:acm:us-east-1:{account}:certificate/{id}), got "${certificateArn}"`);
    else if (arn[1] !== 'us-east-1') problems.push(`certificateArn must be a certificate in us-east-1 (the only region CloudFront takes certificates from), got one in ${arn[1]}`);
  }
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    problems.push('domainName and certificateArn go together: CloudFront serves a custom domain only with its certificate');
  }
  const priceClassName = text('priceClass');
  if (priceClassName !== undefined && !(priceClassName in PRICE_CLASSES)) {
    problems.push(`priceClass must be one of ${Object.keys(PRICE_CLASSES).join(', ')}, got "${priceClassName}"`);
  }

  // Buckets the museum already has.
  const bucketName = (key: string): string | undefined => {
    const name = text(key);
    if (name === undefined) return undefined;
    const wrong = bucketNameProblems(name);
    if (wrong.length) problems.push(`${key} "${name}" is not a valid S3 bucket name: ${wrong.join('; ')}`);
    return name;
  };
  const ingestBucketName = bucketName('ingestBucketName');
  const derivativeBucketName = bucketName('derivativeBucketName');
  const protectedBucketName = bucketName('protectedBucketName');
  if (ingestBucketName !== undefined && ingestBucketName === derivativeBucketName) {
    problems.push('ingestBucketName and derivativeBucketName must differ: derivatives written to the ingest bucket would be ingested again');
  }
  if (protectedBucketName !== undefined && protectedBucketName === ingestBucketName) {
    problems.push('ingestBucketName and protectedBucketName must differ: derivatives written to the ingest bucket would be ingested again');
  }
  if (protectedBucketName !== undefined && protectedBucketName === derivativeBucketName) {
    problems.push('derivativeBucketName and protectedBucketName must differ: the CDN serves the derivative bucket to anyone, the protected one must stay out of its reach');
  }

  // Ingest sizing, retention, alarms.
  const ingestMemoryMiB = integer('ingestMemoryMiB', 128, 10_240, 'MiB');
  const ingestMaxConcurrency = integer('ingestMaxConcurrency', 2, 1000, 'concurrent ingests');
  const logRetentionRaw = text('logRetentionDays');
  let logRetention: RetentionDays | undefined;
  if (logRetentionRaw !== undefined) {
    const days = Number(logRetentionRaw);
    if (LOG_RETENTION_DAYS.includes(days)) logRetention = days as RetentionDays;
    else problems.push(`logRetentionDays must be one of the periods CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(', ')}), got "${logRetentionRaw}"`);
  }
  const masterVersionRetentionDays = integer('masterVersionRetentionDays', 1, 36_500, 'days');
  const alarmEmail = text('alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/.test(alarmEmail)) {
    problems.push(`alarmEmail must be an email address, got "${alarmEmail}"`);
  }

  // The data hub harvest.
  const oaiBaseUrl = url('oaiBaseUrl');
  const oaiSet = text('oaiSet');
  const oaiMetadataPrefix = text('oaiMetadataPrefix');
  const harvestEveryMinutes = integer('harvestEveryMinutes', 5, 1440, 'minutes');
  const rightsCsvUrl = url('rightsCsvUrl');
  const copyrightsCsvUrl = url('copyrightsCsvUrl');
  if ((text('rightsCsvUrl') === undefined) !== (text('copyrightsCsvUrl') === undefined)) {
    problems.push('rightsCsvUrl and copyrightsCsvUrl go together: the rights decision reads both authority files');
  }
  if (text('oaiBaseUrl') === undefined) {
    const orphans = ['oaiSet', 'oaiMetadataPrefix', 'harvestEveryMinutes', 'rightsCsvUrl', 'copyrightsCsvUrl'].filter((key) => text(key) !== undefined);
    if (orphans.length) problems.push(`${orphans.join(', ')} ${orphans.length === 1 ? 'configures' : 'configure'} the data hub harvest, which needs oaiBaseUrl`);
  }

  // IMAGEHUB_* settings, checked by the functions' own parser.
  const settings = settingsFromContext(get, allKeys, problems);

  // Near misses of imagehub's own keys (other context, e.g. CDK's feature flags, is none of our business).
  for (const key of allKeys) {
    if ((CONTEXT_KEYS as readonly string[]).includes(key) || key.startsWith('settings.') || /[:@/]/.test(key)) continue;
    const near = closest(key, CONTEXT_KEYS);
    if (near) problems.push(`${key} is not a context key imagehub reads: did you mean ${near}?`);
  }

  if (problems.length) throw new ContextError([...new Set(problems)]);

  const datahub = oaiBaseUrl
    ? {
        oaiBaseUrl,
        ...(oaiSet ? { set: oaiSet } : {}),
        ...(oaiMetadataPrefix ? { metadataPrefix: oaiMetadataPrefix } : {}),
        every: Duration.minutes(harvestEveryMinutes ?? DEFAULT_HARVEST_EVERY_MINUTES),
        ...(rightsCsvUrl && copyrightsCsvUrl ? { authorityFiles: { rightsCsvUrl, copyrightsCsvUrl } } : {}),
      }
    : undefined;
  return {
    stackName,
    stage,
    ...(domainName && certificateArn ? { domainName, certificateArn } : {}),
    ...(ingestBucketName ? { ingestBucketName } : {}),
    ...(derivativeBucketName ? { derivativeBucketName } : {}),
    ...(protectedBucketName ? { protectedBucketName } : {}),
    ...(priceClassName ? { priceClass: PRICE_CLASSES[priceClassName]! } : {}),
    ...(ingestMemoryMiB !== undefined ? { ingestMemoryMiB } : {}),
    ...(ingestMaxConcurrency !== undefined ? { ingestMaxConcurrency } : {}),
    ...(logRetention !== undefined ? { logRetention } : {}),
    masterVersionRetentionDays: masterVersionRetentionDays ?? DEFAULT_MASTER_VERSION_RETENTION_DAYS,
    ...(alarmEmail ? { alarmEmail } : {}),
    settings,
    ...(datahub ? { datahub } : {}),
  };
}

/** `settings.IMAGEHUB_X=…` keys and a `settings` object in cdk.json, validated with parseIngestSettings. */
function settingsFromContext(get: (key: string) => unknown, keys: readonly string[], problems: string[]): Record<string, string> {
  const given = new Map<string, unknown>();
  const object = get('settings');
  if (object !== undefined && object !== null) {
    if (typeof object === 'object' && !Array.isArray(object)) for (const [name, value] of Object.entries(object)) given.set(name, value);
    else problems.push(`settings must be an object of IMAGEHUB_* names and values, got ${JSON.stringify(object)}`);
  }
  for (const key of keys) if (key.startsWith('settings.')) given.set(key.slice('settings.'.length), get(key));

  const settings: Record<string, string> = {};
  for (const [name, value] of given) {
    if (name === 'IMAGEHUB_PUBLIC_URL') {
      problems.push('settings.IMAGEHUB_PUBLIC_URL is set by the stack (https://{domainName}, or the distribution\'s domain): use domainName and certificateArn');
    } else if (!(DEPLOYMENT_SETTINGS as readonly string[]).includes(name)) {
      const near = closest(name, DEPLOYMENT_SETTINGS) ?? (name.startsWith('IMAGEHUB_') ? undefined : closest(`IMAGEHUB_${name}`, DEPLOYMENT_SETTINGS));
      problems.push(`settings.${name} is not an imagehub setting${near ? ` (did you mean ${near}?)` : ''}; the settings are ${DEPLOYMENT_SETTINGS.join(', ')}`);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      if (String(value).trim() !== '') settings[name] = String(value).trim();
    } else if (value !== undefined && value !== null) {
      problems.push(`settings.${name} must be a single value, got ${JSON.stringify(value)}`);
    }
  }
  try {
    parseIngestSettings({ ...SET_BY_THE_STACK, ...settings });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.message.replace(/^invalid configuration: /, '').split('; ')) problems.push(`settings.${problem}`);
  }
  for (const problem of accessSettingProblems(settings)) problems.push(`settings.${problem}`);
  return settings;
}

function isHttpUrl(raw: string): boolean {
  try {
    const parsed = new URL(raw);
    return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.hostname !== '' && !/\s/.test(raw);
  } catch {
    return false;
  }
}

function isHostName(name: string): boolean {
  return name.length <= 253 && /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(name);
}

/** Why a name breaks S3's general-purpose bucket naming rules (none: a valid name). */
export function bucketNameProblems(name: string): string[] {
  const wrong: string[] = [];
  if (name.length < 3 || name.length > 63) wrong.push('it must be 3 to 63 characters long');
  if (!/^[a-z0-9.-]*$/.test(name)) wrong.push('only lowercase letters, digits, dots and hyphens are allowed');
  if (!/^[a-z0-9].*[a-z0-9]$|^[a-z0-9]$/.test(name)) wrong.push('it must begin and end with a letter or digit');
  if (name.includes('..')) wrong.push('it must not contain two adjacent dots');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) wrong.push('it must not look like an IP address');
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) if (name.startsWith(prefix)) wrong.push(`it must not start with ${prefix}`);
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) if (name.endsWith(suffix)) wrong.push(`it must not end with ${suffix}`);
  return wrong;
}

/** The candidate a key is most likely a typo of: same letters ignoring case, or at most two edits away. */
function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = key.toLowerCase() === candidate.toLowerCase() ? 0 : editDistance(key, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
