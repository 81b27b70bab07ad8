/**
 * How every imagehub function is built: Node.js 22 on arm64 (Graviton: about 20 % cheaper per GB-second, and
 * sharp's arm64 build is as fast per core), one ESM bundle per function from esbuild, source maps on, logs kept
 * for a bounded time. Packages that carry native or WebAssembly binaries come from the imaging layer instead.
 */
import type { Duration} from 'aws-cdk-lib';
import { RemovalPolicy, Size } from 'aws-cdk-lib';
import { Architecture, Runtime, type ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGING_LAYER_PACKAGES } from '../layers/build-imaging-layer.ts';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ImagehubFunctionProps {
  /** Path of the handler module, relative to the project root. */
  entry: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  /** The imaging layer, for functions that use sharp or the WebAssembly decoders. */
  imagingLayer?: ILayerVersion;
  ephemeralStorageMiB?: number;
  logRetention?: RetentionDays;
  /** Reserved concurrency, where parallel runs would conflict or a burst would hurt others. */
  reservedConcurrency?: number;
}

export function imagehubFunction(scope: Construct, id: string, props: ImagehubFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return new NodejsFunction(scope, id, {
    entry: join(PROJECT_ROOT, props.entry),
    handler: 'handler',
    description: props.description,
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    ...(props.ephemeralStorageMiB ? { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB) } : {}),
    ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
    layers: props.imagingLayer ? [props.imagingLayer] : [],
    logGroup,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // libvips' worker threads each get a glibc malloc arena; a warm container's RSS then only grows (measured on
      // `npm start` under bench:load: +160 MB in 10 minutes with a flat JS heap, flat with 2 arenas). Read by glibc
      // at process start, which function environment variables precede.
      ...(props.imagingLayer ? { MALLOC_ARENA_MAX: '2' } : {}),
      ...props.environment,
    },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      platform: 'node',
      mainFields: ['module', 'main'],
      minify: true,
      sourceMap: true,
      // Bundled CommonJS dependencies call require(); an ES module has none unless we make one.
      banner: "import { createRequire as __imagehubCreateRequire } from 'node:module'; const require = __imagehubCreateRequire(import.meta.url);",
      externalModules: props.imagingLayer ? [...IMAGING_LAYER_PACKAGES] : [],
    },
  });
}
