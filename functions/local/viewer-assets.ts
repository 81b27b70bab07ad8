/**
 * The IIIF viewers that `npm start` serves under `/viewers/`: the dist bundles of pinned Mirador and Universal
 * Viewer releases, taken from their npm registry tarballs (a few MB each) instead of installing the packages
 * (375–445 MB of dependencies each). Nothing is ever loaded from a CDN: the pages under `/viewer/` load these files.
 *
 * `npm pack` fetches a tarball (through npm's cache and configured registry), the tarball's sha512 is checked
 * against the integrity pinned here, and only the files the browser needs are extracted into
 * `node_modules/.cache/imagehub-viewers/{name}-{version}/`. Everything runs in child processes spawned
 * asynchronously, so a system hosting the stand-ins keeps answering while it fetches.
 *
 *   node --import tsx functions/local/viewer-assets.ts      (npm run build:viewers)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ViewerName = 'mirador' | 'uv';

export interface ViewerPackage {
  /** npm package name and exact version. */
  name: string;
  version: string;
  /** `dist.integrity` of that version in the npm registry (`npm view {name}@{version} dist.integrity`). */
  integrity: string;
  /** Tarball members to extract (directories extract whole). */
  members: string[];
  /** The folder of the tarball served under `/viewers/{viewer}/`. */
  root: string;
  /** A file that must be present for the viewer to work, relative to {@link root}. */
  entry: string;
  /** Upstream bugs fixed in the extracted files: `from` must occur exactly once in `file` (relative to root). */
  patches?: { file: string; from: string; to: string; why: string }[];
}

export const VIEWER_PACKAGES: Record<ViewerName, ViewerPackage> = {
  // UMD bundle exposing `Mirador.viewer(config)`; Dutch and English interface bundled.
  mirador: {
    name: 'mirador',
    version: '4.0.0',
    integrity: 'sha512-uWsE9e2oqSc/lUu+vVwDGhTsycuhGsfZ2KfX6CLfXiT3wgGy6qT9+q5M3V9Zz72hkdIgsJugKesaowmRtYmvrA==',
    members: ['package/LICENSE', 'package/dist/mirador.min.js'],
    root: 'package/dist',
    entry: 'mirador.min.js',
  },
  // `umd/UV.js` exposes `UV.init(id, data)` and loads its chunks (extensions, configs, locales) from the folder it
  // was itself loaded from (webpack's automatic public path); `uv.css` has its images inline.
  uv: {
    name: 'universalviewer',
    version: '4.4.0',
    integrity: 'sha512-9OVs6uCzeQYw50jg8k2vEGq6hQFu7kEv9OOAlmqVH9duhrpg1xlIqcMIb2rhNQnAxTQd3R13gxJze9UYkiwdzg==',
    members: ['package/LICENSE.txt', 'package/dist/uv.css', 'package/dist/favicon.ico', 'package/dist/umd'],
    root: 'package/dist',
    entry: 'umd/UV.js',
    patches: [
      {
        file: 'umd/6520.8ac5d910823add256c55.js',
        from: 'prefixUrl:void 0,',
        to: 'prefixUrl:"",',
        why:
          'UniversalViewer/universalviewer#1789: with prefixUrl undefined OpenSeadragon keeps its default "/images/" ' +
          'and requests /images/data:image/gif;base64,… (a 404 on every page); "" is the fix the issue gives',
      },
    ],
  },
};

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_VIEWER_CACHE = resolve(here, '../../node_modules/.cache/imagehub-viewers');
const STAMP = '.imagehub-viewer.json';
const NPM_TIMEOUT_MS = 180_000;
const RETRY_AFTER_MS = 60_000;

/** A viewer's files as served: URL path below `/viewers/{viewer}/` → absolute file path and size. */
export interface ViewerFiles {
  dir: string;
  files: Map<string, { path: string; size: number }>;
}

export type ViewersState = { ok: true; viewers: Record<ViewerName, ViewerFiles> } | { ok: false; reason: string };

export interface ViewerAssetsOptions {
  cacheDir?: string;
  log?: (line: string) => void;
  /** The npm executable (tests). */
  npm?: string;
  /** Where the system answers, for the log line naming the viewer pages. */
  baseUrl?: string;
}

/**
 * The viewers' files, fetched once per process: {@link prefetch} starts at once (`npm start`), {@link ready}
 * starts on first use and waits. A failure is remembered for a minute, then the next request tries again.
 */
export class ViewerAssets {
  readonly cacheDir: string;
  private readonly log: (line: string) => void;
  private readonly npm: string;
  private readonly baseUrl: string | undefined;
  private readonly abort = new AbortController();
  private pending: Promise<ViewersState> | undefined;
  private failedAt = 0;

  constructor(options: ViewerAssetsOptions = {}) {
    this.cacheDir = options.cacheDir ?? DEFAULT_VIEWER_CACHE;
    this.log = options.log ?? (() => undefined);
    this.npm = options.npm ?? (process.platform === 'win32' ? 'npm.cmd' : 'npm');
    this.baseUrl = options.baseUrl;
  }

  /** Stops a fetch under way (its child processes), for a system that is shutting down. */
  close(): void {
    this.abort.abort();
  }

  prefetch(): void {
    void this.ready();
  }

  ready(): Promise<ViewersState> {
    if (this.pending && !(this.failedAt && Date.now() - this.failedAt > RETRY_AFTER_MS)) return this.pending;
    this.failedAt = 0;
    this.pending = this.load().then(
      (viewers): ViewersState => {
        if (this.baseUrl) this.log(`  IIIF viewers         ${this.baseUrl}/viewer/mirador.html?manifest={manifest URL}[&lang=en] · ${this.baseUrl}/viewer/uv.html?manifest={manifest URL}`);
        return { ok: true, viewers };
      },
      (error: unknown): ViewersState => {
        this.failedAt = Date.now();
        const reason = error instanceof Error ? error.message : String(error);
        this.log(`warning: the IIIF viewers are unavailable, /viewer/ pages answer 503: ${reason}`);
        return { ok: false, reason };
      },
    );
    return this.pending;
  }

  private async load(): Promise<Record<ViewerName, ViewerFiles>> {
    const [mirador, uv] = await Promise.all(
      (['mirador', 'uv'] as const).map((viewer) => ensureViewerPackage(VIEWER_PACKAGES[viewer], { cacheDir: this.cacheDir, log: this.log, npm: this.npm, signal: this.abort.signal })),
    );
    return { mirador: mirador!, uv: uv! };
  }
}

/** Makes sure one viewer package is extracted in the cache, fetching and verifying it if needed. */
export async function ensureViewerPackage(
  pkg: ViewerPackage,
  options: { cacheDir?: string; log?: (line: string) => void; npm?: string; signal?: AbortSignal } = {},
): Promise<ViewerFiles> {
  const cacheDir = options.cacheDir ?? DEFAULT_VIEWER_CACHE;
  const target = join(cacheDir, `${pkg.name}-${pkg.version}`);
  const stamp = JSON.stringify({ name: pkg.name, version: pkg.version, integrity: pkg.integrity, members: pkg.members, patches: pkg.patches ?? [] });
  if ((await readFile(join(target, STAMP), 'utf8').catch(() => '')) === stamp) return listFiles(join(target, pkg.root), pkg);

  options.log?.(`fetching ${pkg.name}@${pkg.version} from the npm registry for /viewers/ …`);
  await mkdir(cacheDir, { recursive: true });
  await removeStaleStaging(cacheDir, pkg.name);
  const staging = await mkdtemp(join(cacheDir, `.${pkg.name}-`));
  try {
    await run(options.npm ?? 'npm', ['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', staging, '--prefer-offline', '--silent', '--no-fund', '--no-audit', '--fetch-retries=1', '--loglevel=error'], staging, options.signal);
    const tarballs = (await readdir(staging)).filter((name) => name.endsWith('.tgz'));
    if (tarballs.length !== 1) throw new Error(`npm pack ${pkg.name}@${pkg.version} left ${tarballs.length} tarballs`);
    const tarball = join(staging, tarballs[0]!);
    const integrity = `sha512-${await sha512(tarball)}`;
    if (integrity !== pkg.integrity) throw new Error(`${pkg.name}@${pkg.version}: tarball integrity ${integrity} is not the pinned ${pkg.integrity}`);
    const out = join(staging, 'out');
    await mkdir(out);
    // Named members only; GNU tar refuses `..` and strips leading `/`, so nothing lands outside `out`.
    await run('tar', ['-xzf', tarball, '-C', out, '--no-same-owner', '--no-same-permissions', '--', ...pkg.members], staging, options.signal);
    await stat(join(out, pkg.root, pkg.entry)); // throws if the tarball lacks the entry
    for (const patch of pkg.patches ?? []) await applyPatch(join(out, pkg.root, patch.file), patch.from, patch.to);
    await writeFile(join(out, STAMP), stamp);
    await rm(target, { recursive: true, force: true }); // a stale or partial copy
    try {
      await rename(out, target);
    } catch (error) {
      // Another process finished first: its copy is as good as ours.
      if ((await readFile(join(target, STAMP), 'utf8').catch(() => '')) !== stamp) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const files = await listFiles(join(target, pkg.root), pkg);
  const bytes = [...files.files.values()].reduce((sum, file) => sum + file.size, 0);
  options.log?.(`${pkg.name}@${pkg.version} ready (${files.files.size} files, ${(bytes / 1e6).toFixed(1)} MB) in ${target}`);
  return files;
}

/** Staging folders a process left when it was stopped mid-fetch (an hour old: no fetch takes that long). */
async function removeStaleStaging(cacheDir: string, name: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (!entry.startsWith(`.${name}-`)) continue;
    const path = join(cacheDir, entry);
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > 3_600_000) await rm(path, { recursive: true, force: true });
  }
}

/** Every regular file under `dir`, keyed by its `/`-separated relative path: the only paths that are served. */
async function listFiles(dir: string, pkg: ViewerPackage): Promise<ViewerFiles> {
  const files = new Map<string, { path: string; size: number }>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path).split(sep).join('/'), { path, size: (await stat(path)).size });
  }
  if (!files.has(pkg.entry)) throw new Error(`${pkg.name}@${pkg.version}: ${pkg.entry} missing in ${dir}`);
  return { dir, files };
}

/** The line of a failed command's stderr that says what went wrong (npm prints a stack and advice around it). */
function gist(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.replace(/^npm (error|ERR!)\s*/, '').trim())
    .filter((line) => line && !line.startsWith('at ') && !/nodedir|^code |^errno |^syscall /.test(line));
  return lines.find((line) => /reason:|not found|failed|\b[45]\d\d\b|E[A-Z]{4,}/i.test(line)) ?? lines[0] ?? 'no message';
}

async function applyPatch(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`patch of ${file}: ${JSON.stringify(from)} does not occur exactly once`);
  await writeFile(file, text.slice(0, at) + to + text.slice(at + from.length));
}

async function sha512(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/** An asynchronous child process (never spawnSync: the caller may host the stand-ins); rejects with its stderr. */
function run(command: string, args: string[], cwd: string, signal?: AbortSignal): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: NPM_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 20_000) stderr += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (code === 0) done();
      else fail(new Error(`${command} ${args.slice(0, 2).join(' ')} failed (${signal ?? `exit ${code}`}): ${gist(stderr)}`));
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const state = await new ViewerAssets({ log: (line) => console.log(line) }).ready();
  if (!state.ok) process.exitCode = 1;
  else for (const [viewer, files] of Object.entries(state.viewers)) console.log(`/viewers/${viewer}/ ← ${files.dir}`);
}
