/**
 * Runtime settings, read from the environment the same way in Lambda and on one machine, validated up front so a
 * misconfiguration fails loudly at cold start instead of producing wrong URLs later.
 */

export interface IngestSettings {
  /** Public base URL of the service (the CDN), without trailing slash: every info.json `id` starts with it. */
  publicUrl: string;
  derivativeBucket: string;
  /** The protected derivative store (IMAGEHUB_PROTECTED_BUCKET): what the access policy keeps from the public. */
  protectedBucket?: string;
  tableName: string;
  tileSize: number;
  /** Largest master accepted, in pixels (decoded width × height). */
  maxInputPixels: number;
  /** `maxArea` advertised in info.json: `full/max` and the listed `sizes` stay within it. */
  maxArea: number;
  jpegQuality: number;
  /** Parallel PUTs when publishing a pyramid. */
  uploadConcurrency: number;
  /** Whether the Image API serves sizes above the region (3.0 `^`, 2.1 above full), always within maxArea. */
  upscaling: boolean;
  /**
   * Largest response the Image API returns inline. Lambda caps a synchronous response at 6 MB, base64 included
   * (binary bodies grow by a third), so larger renders are stored and the client redirected to the CDN copy.
   */
  maxInlineBytes: number;
}

export const DEFAULTS = {
  tileSize: 512,
  // Real museum masters reach a gigapixel (large paintings at 600 ppi); sharp's own default of 268 MP is too low.
  maxInputPixels: 1_500_000_000,
  // 4096 × 4096: a `full/max` JPEG stays a few megabytes, within what a browser or a Lambda response handles.
  maxArea: 16_777_216,
  jpegQuality: 85,
  uploadConcurrency: 32,
  upscaling: true,
  maxInlineBytes: 4_000_000,
} as const;

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

export interface ParseOptions {
  /**
   * The Image API may run without IMAGEHUB_PUBLIC_URL: behind CloudFront's default domain it learns the public
   * host from each request (the CDN's domain cannot be passed to its own origin without a dependency cycle).
   */
  publicUrlOptional?: boolean;
}

export function parseIngestSettings(env: Env, options: ParseOptions = {}): IngestSettings {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is required`);
    return value ?? '';
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === '1' || raw === 'yes') return true;
    if (raw === 'false' || raw === '0' || raw === 'no') return false;
    problems.push(`${name} must be true or false, got "${env[name]}"`);
    return fallback;
  };
  const publicUrl = (options.publicUrlOptional ? (env.IMAGEHUB_PUBLIC_URL?.trim() ?? '') : required('IMAGEHUB_PUBLIC_URL')).replace(/\/+$/, '');
  if (publicUrl && !/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(publicUrl)) {
    problems.push(`IMAGEHUB_PUBLIC_URL must be an absolute http(s) URL without query or fragment, got "${publicUrl}"`);
  }
  const settings: IngestSettings = {
    publicUrl,
    derivativeBucket: required('DERIVATIVE_BUCKET'),
    ...(env.IMAGEHUB_PROTECTED_BUCKET?.trim() ? { protectedBucket: env.IMAGEHUB_PROTECTED_BUCKET.trim() } : {}),
    tableName: required('TABLE_NAME'),
    tileSize: integer('IMAGEHUB_TILE_SIZE', DEFAULTS.tileSize, 64, 4096),
    maxInputPixels: integer('IMAGEHUB_MAX_INPUT_PIXELS', DEFAULTS.maxInputPixels, 1, 100_000_000_000),
    maxArea: integer('IMAGEHUB_MAX_AREA', DEFAULTS.maxArea, 4096, 1_000_000_000),
    jpegQuality: integer('IMAGEHUB_JPEG_QUALITY', DEFAULTS.jpegQuality, 1, 100),
    uploadConcurrency: integer('IMAGEHUB_UPLOAD_CONCURRENCY', DEFAULTS.uploadConcurrency, 1, 256),
    upscaling: boolean('IMAGEHUB_UPSCALING', DEFAULTS.upscaling),
    maxInlineBytes: integer('IMAGEHUB_MAX_INLINE_BYTES', DEFAULTS.maxInlineBytes, 1, 4_400_000),
  };
  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return settings;
}
