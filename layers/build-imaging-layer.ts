/**
 * Builds the imaging Lambda layer: sharp with its linux-arm64 (glibc) libvips binaries, and the WebAssembly
 * decoders for formats that libvips' prebuilt binaries cannot read. Everything comes from the npm registry, at
 * exactly the versions this checkout's tests ran with; no Docker, no compiler.
 *
 *   node --import tsx layers/build-imaging-layer.ts [--force]
 *
 * The CDK app runs it before synthesis (bin/imagehub.ts); a stamp file of the versions makes reruns free.
 * Output: layers/imaging/nodejs/node_modules/…, which Lambda mounts as /opt/nodejs/node_modules.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, '..');

/** Packages the functions load at run time from the layer rather than from their bundle. */
export const IMAGING_LAYER_PACKAGES = ['sharp', '@cornerstonejs/codec-openjpeg', 'libheif-js'] as const;

export const IMAGING_LAYER_DIR = join(here, 'imaging');

export interface LayerTarget {
  os: 'linux';
  cpu: 'arm64' | 'x64';
  libc: 'glibc';
}

export const LAMBDA_ARM64: LayerTarget = { os: 'linux', cpu: 'arm64', libc: 'glibc' };

/** The version of each layer package installed in this checkout (what the tests ran with). */
export function pinnedVersions(root = projectRoot): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const name of IMAGING_LAYER_PACKAGES) {
    const manifest = join(root, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) continue; // an optional decoder not installed: the function refuses that format
    versions[name] = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  }
  if (!versions.sharp) throw new Error('sharp is not installed in node_modules: run `npm ci` first');
  return versions;
}

export function ensureImagingLayer(options: { outDir?: string; target?: LayerTarget; force?: boolean } = {}): string {
  const outDir = options.outDir ?? IMAGING_LAYER_DIR;
  const target = options.target ?? LAMBDA_ARM64;
  const versions = pinnedVersions();
  const stamp = JSON.stringify({ target, versions });
  const stampFile = join(outDir, 'nodejs', '.imagehub-layer.json');
  if (!options.force && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return outDir;

  const prefix = join(outDir, 'nodejs');
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  // A package.json of its own keeps npm from walking up into the project's.
  writeFileSync(join(prefix, 'package.json'), JSON.stringify({ name: 'imagehub-imaging-layer', private: true }));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(
    npm,
    [
      'install',
      '--prefix', prefix,
      '--no-package-lock', '--no-audit', '--no-fund', '--omit=dev', '--loglevel=error',
      `--os=${target.os}`, `--cpu=${target.cpu}`, `--libc=${target.libc}`,
      ...Object.entries(versions).map(([name, version]) => `${name}@${version}`),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const binary = join(prefix, 'node_modules', '@img', `sharp-${target.os}-${target.cpu}`);
  if (!existsSync(binary)) throw new Error(`npm did not install ${binary}: the layer would not load sharp`);
  rmSync(join(prefix, 'package.json'));
  writeFileSync(stampFile, stamp);
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = ensureImagingLayer({ force: process.argv.includes('--force') });
  console.log(`imaging layer ready in ${dir}`);
}
