/**
 * `npm run bench:load`: `npm start` under 64 concurrent simulated IIIF viewers for a fixed time. Goals: zero errors,
 * p50/p95 latency and requests/s, and a server whose memory does not grow.
 *
 * Setup: `npm start` (IMAGEHUB_DEMO=0) on a free port with a temporary data folder; a handful of masters of different
 * sizes ingested with the real CLI (`imagehub ingest --prefix loadbench/`): two photographic masters made here
 * (6000×4000 and 9000×6000, the Ruisdael with film grain, test/bench/master.ts) and, when ../shared/fixtures is
 * there, real images (Ruisdael 3000×2279, van Gogh 1280×1014, a 4993×3877 multi-page TIFF).
 *
 * Viewers (test/bench/load-viewers.ts): each loops over sessions: pick an image (seeded), GET its stable info.json
 * (3.0, or 2.1 one time in four), then replay what OpenSeadragon requests for a 1280×800 viewer opening the image
 * (home view: every level's visible tiles) and then zooming in, panning and zooming out (the finest levels'
 * newly visible tiles), in the canonical tile URLs OSD builds for each version, up to 6 requests in flight (a
 * browser's per-host connections), no think time (a closed loop: the figures are those of a saturated server).
 * 15 % of the requests are random valid dynamic Image API requests interleaved with the tiles. Any answer other
 * than 2xx/304, and any network error or timeout, is an error, with two exceptions that are counted and printed,
 * because a browser handles them without the user noticing: a 303 from the Image API to a render stored because it
 * is too large to send inline is followed, and a request sent on a kept-alive connection that the server closed
 * before answering (ECONNRESET on `request.reusedSocket`) is sent once more on a new connection.
 *
 * Phases, in this order, same viewers and seed:
 *   1. reference, static only (LOAD_REFERENCE_SECONDS, default 15): a bare node:http server in its own process
 *      serving, from memory, the same bytes and headers for every info.json and tile URL (fetched from imagehub
 *      first; test/bench/load-reference.ts);
 *   2. imagehub, static only, as long: the like-for-like comparison. `ratio_static_p50` = imagehub / reference:
 *      what the CDN stand-in's path costs (router → S3 SDK → s3rver → file system) over a bare server with the
 *      bytes in memory. On AWS CloudFront serves these; the figure is about `npm start`, not production;
 *   3. imagehub, the full mix (LOAD_SECONDS, default 60): the headline figures and the memory measurement.
 *
 * Memory: the RSS (VmRSS) of the node process running functions/local/main.ts (its pid is in the data folder's
 * endpoints.json; npm and its shell are its parents) is sampled every second. rss_growth_mb = median RSS over the
 * last 10 % of phase 3 − median RSS over its second 10 % (the first 10 % is a warm-up: sharp's and libvips' caches,
 * the thread pool's arenas and the keep-alive sockets fill up while the first dynamic requests arrive). Medians,
 * so that one sample taken mid-render does not decide it. A leak shows as growth that scales with the run's
 * length (run with LOAD_SECONDS=300 to tell a plateau from a leak); rss_growth_mb_per_min says the same per minute.
 * glibc's per-thread malloc arenas (libvips' workers, libuv's pool) make RSS creep up in steps for minutes while
 * the JS heap stays flat: run with MALLOC_ARENA_MAX=2 (passed on to `npm start`) to tell fragmentation from a leak.
 *
 * Environment: LOAD_SECONDS (60), LOAD_VIEWERS (64), LOAD_CONNECTIONS (6 per viewer), LOAD_DYNAMIC_SHARE (0.15),
 * LOAD_THINK_MS (0), LOAD_REFERENCE_SECONDS (15; 0 skips phases 1 and 2), LOAD_SEED, IMAGEHUB_TMP,
 * LOAD_SERVER_NODE_OPTIONS (NODE_OPTIONS for the server's node, for diagnostics). The client runs
 * in this process on the same 2 cores as the server: its CPU time is printed. Last line: JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENDPOINTS_FILE } from '../../functions/cli/target.ts';
import { ROOT, runImagehub, startNpmStart, waitFor200, type NpmStart } from '../support/processes.ts';
import type { ReferenceEntry } from './load-reference.ts';
import { allOsdTileUrls, percentile, runViewers, type InfoDoc, type LoadImage, type PhaseResult } from './load-viewers.ts';
import { makePhotographicMaster } from './master.ts';

const envNumber = (name: string, fallback: number, min: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got ${process.env[name]}`);
  return value;
};
const SECONDS = envNumber('LOAD_SECONDS', 60, 5);
const VIEWERS = Math.round(envNumber('LOAD_VIEWERS', 64, 1));
const CONNECTIONS = Math.round(envNumber('LOAD_CONNECTIONS', 6, 1));
const DYNAMIC_SHARE = envNumber('LOAD_DYNAMIC_SHARE', 0.15, 0);
const THINK_MS = envNumber('LOAD_THINK_MS', 0, 0);
const REFERENCE_SECONDS = envNumber('LOAD_REFERENCE_SECONDS', 15, 0);
const SEED = Math.round(envNumber('LOAD_SEED', 20261201, 0));
/** NODE_OPTIONS for `npm start`'s node, for diagnostics (e.g. `--import` of a profiler); empty by default. */
const SERVER_NODE_OPTIONS = process.env.LOAD_SERVER_NODE_OPTIONS ?? '';
if (DYNAMIC_SHARE >= 1) throw new Error('LOAD_DYNAMIC_SHARE must be below 1');

const step = (message: string) => console.log(`… ${message}`);
const work = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'bench-load-'));
const data = join(work, 'data');
const masters = join(work, 'masters');
mkdirSync(masters, { recursive: true });

let server: NpmStart | undefined;
let reference: ChildProcess | undefined;
let cleaned = false;
async function cleanUp(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  if (reference && reference.exitCode === null && reference.signalCode === null) {
    const exited = new Promise((r) => reference!.once('exit', r));
    reference.kill('SIGTERM');
    await exited;
  }
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  console.log('interrupted: stopping npm start and the reference, removing the temporary folder');
  void cleanUp().finally(() => process.exit(130));
});

// ---------------------------------------------------------------------------------------------- RSS sampling
interface Sample {
  t: number;
  phase: string;
  rssMb: number;
  cpuSeconds: number;
}
const TICKS_PER_SECOND = 100; // Linux USER_HZ
function readProc(pid: number): { rssMb: number; cpuSeconds: number } | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    // Fields after the command name (which may contain spaces): utime and stime are the 14th and 15th overall.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    return kb ? { rssMb: Number(kb) / 1024, cpuSeconds: cpu } : undefined;
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

/** The node process that runs functions/local/main.ts, from the endpoints file `npm start` writes. */
function serverPid(): number {
  const { pid } = JSON.parse(readFileSync(join(data, ENDPOINTS_FILE), 'utf8')) as { pid: number };
  const commandLine = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ') : '';
  if (!commandLine.includes('functions/local/main.ts')) throw new Error(`pid ${pid} from ${ENDPOINTS_FILE} is not functions/local/main.ts: ${commandLine}`);
  return pid;
}

const median = (values: number[]) => percentile(values, 50);
const round1 = (value: number) => Math.round(value * 10) / 10;
const ms = (value: number) => `${value.toFixed(1)} ms`;

try {
  // -------------------------------------------------------------------------------------------- masters, ingest
  step('making the masters');
  await makePhotographicMaster(join(masters, 'grain-6000x4000.jpg'), { width: 6000, height: 4000 });
  await makePhotographicMaster(join(masters, 'grain-9000x6000.jpg'), { width: 9000, height: 6000 });
  const shared = join(ROOT, '../shared/fixtures/images');
  for (const [from, to] of [
    ['artwork/bentheim.jpg', 'bentheim.jpg'],
    ['artwork/starry_night_google.jpg', 'starry-night.jpg'],
    ['tiff/caillebotte.tif', 'caillebotte.tif'],
  ] as const) {
    if (existsSync(join(shared, from))) copyFileSync(join(shared, from), join(masters, to));
  }
  if (!existsSync(join(masters, 'bentheim.jpg'))) copyFileSync(join(ROOT, 'test/fixtures/images/bentheim.jpg'), join(masters, 'bentheim.jpg'));

  step('starting npm start');
  server = await startNpmStart(data, { IMAGEHUB_DEMO: '0', NODE_OPTIONS: SERVER_NODE_OPTIONS });
  const url = server.url;
  step(`ingesting with \`imagehub ingest\` into ${url}`);
  const ingest = await runImagehub(['ingest', masters, '--prefix', 'loadbench/', '--access', 'open', '--timeout', '600', '--json'], { IMAGEHUB_DATA: data });
  if (ingest.code !== 0) throw new Error(`imagehub ingest failed (${ingest.code}):\n${ingest.stdout}\n${ingest.stderr}`);
  const pid = serverPid();

  const images: LoadImage[] = [];
  for (const file of ['grain-6000x4000', 'grain-9000x6000', 'bentheim', 'starry-night', 'caillebotte']) {
    if (!existsSync(join(masters, `${file}.${file === 'caillebotte' ? 'tif' : 'jpg'}`))) continue;
    const identifier = `loadbench:${file}`;
    const v3 = await waitFor200(`${url}/iiif/3/${identifier}/info.json`, 60_000);
    const v2 = await waitFor200(`${url}/iiif/2/${identifier}/info.json`, 60_000);
    if (v3.status !== 200 || v2.status !== 200) throw new Error(`${identifier}: info.json answers ${v3.status} / ${v2.status}`);
    images.push({ identifier, v3: (await v3.json()) as InfoDoc, v2: (await v2.json()) as InfoDoc });
  }
  for (const image of images) console.log(`  ${image.identifier.padEnd(28)} ${image.v3.width}×${image.v3.height}, scale factors ${image.v3.tiles?.[0]?.scaleFactors.join(' ')}`);

  // -------------------------------------------------------------------------------------------- sampling
  const samples: Sample[] = [];
  let phase = 'setup';
  const t0 = performance.now();
  const sample = () => {
    const proc = readProc(pid);
    if (proc) samples.push({ t: (performance.now() - t0) / 1000, phase, ...proc });
  };
  sample();
  const sampler = setInterval(sample, 1000);
  let outputMark = server.output().length;
  const serverComplaints = (): string[] => {
    const lines = server!.output().slice(outputMark).split('\n');
    outputMark = server!.output().length;
    return lines.filter((line) => /error|fail|warn|exception|ECONN|EMFILE/i.test(line));
  };

  const viewerOptions = { images, viewers: VIEWERS, connections: CONNECTIONS, thinkMs: THINK_MS, seed: SEED };
  let referenceStatic: PhaseResult | undefined;
  let imagehubStatic: PhaseResult | undefined;
  const complaints: string[] = [];

  if (REFERENCE_SECONDS > 0) {
    // ------------------------------------------------------------------------------------------ the reference
    step('fetching every info.json and OSD tile URL for the reference server');
    const paths = new Set<string>();
    for (const image of images) {
      for (const version of [3, 2] as const) {
        paths.add(`/iiif/${version}/${image.identifier}/info.json`);
        for (const tile of allOsdTileUrls(version === 3 ? image.v3 : image.v2)) paths.add(tile);
      }
    }
    const index: ReferenceEntry[] = [];
    const chunks: Buffer[] = [];
    let offset = 0;
    let rendered = 0;
    for (const path of paths) {
      const response = await fetch(`${url}${path}`);
      if (response.status !== 200) throw new Error(`${path}: ${response.status} from imagehub`);
      if (/rel="canonical"/.test(response.headers.get('link') ?? '')) rendered++;
      const body = Buffer.from(await response.arrayBuffer());
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'cache-control', 'etag', 'last-modified', 'access-control-allow-origin']) {
        const value = response.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      index.push({ path, offset, length: body.length, headers });
      chunks.push(body);
      offset += body.length;
    }
    writeFileSync(join(work, 'reference.bin'), Buffer.concat(chunks));
    writeFileSync(join(work, 'reference.json'), JSON.stringify(index));
    console.log(`  ${paths.size} URLs, ${(offset / 1e6).toFixed(1)} MB; ${rendered} of them rendered by the Image API rather than stored`);
    reference = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/bench/load-reference.ts'), join(work, 'reference.json'), join(work, 'reference.bin')], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const referencePort = await new Promise<number>((resolve, reject) => {
      let out = '';
      reference!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /\{"port":(\d+)\}/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      reference!.once('exit', (code) => reject(new Error(`the reference server exited with ${code}`)));
    });

    step(`phase 1: the reference, static only, ${REFERENCE_SECONDS} s, ${VIEWERS} viewers`);
    phase = 'reference';
    referenceStatic = await runViewers({ ...viewerOptions, origin: `http://127.0.0.1:${referencePort}`, seconds: REFERENCE_SECONDS, dynamicShare: 0 });
    const exited = new Promise((r) => reference!.once('exit', r));
    reference.kill('SIGTERM');
    await exited;

    step(`phase 2: imagehub, static only, ${REFERENCE_SECONDS} s, ${VIEWERS} viewers`);
    phase = 'static';
    serverComplaints();
    imagehubStatic = await runViewers({ ...viewerOptions, origin: url, seconds: REFERENCE_SECONDS, dynamicShare: 0 });
    complaints.push(...serverComplaints());
  }

  // ---------------------------------------------------------------------------------------------- the main run
  step(`phase 3: imagehub, ${VIEWERS} viewers × ${CONNECTIONS} connections, ${Math.round(DYNAMIC_SHARE * 100)} % dynamic, ${SECONDS} s`);
  phase = 'main';
  serverComplaints();
  const cpuBefore = process.cpuUsage();
  const mainStart = (performance.now() - t0) / 1000;
  sample();
  const main = await runViewers({ ...viewerOptions, origin: url, seconds: SECONDS, dynamicShare: DYNAMIC_SHARE });
  sample();
  const mainEnd = (performance.now() - t0) / 1000;
  const clientCpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  complaints.push(...serverComplaints());

  // ---------------------------------------------------------------------------------------------- figures
  const all = [...main.latencies.info, ...main.latencies.tile, ...main.latencies.dynamic];
  const staticLatencies = [...main.latencies.info, ...main.latencies.tile];
  const line = (label: string, values: number[]) =>
    console.log(`  ${label.padEnd(22)} n ${String(values.length).padStart(7)}  p50 ${ms(percentile(values, 50)).padStart(10)}  p95 ${ms(percentile(values, 95)).padStart(10)}  p99 ${ms(percentile(values, 99)).padStart(10)}  max ${ms(values.reduce((a, b) => Math.max(a, b), 0)).padStart(10)}`);
  const report = (label: string, result: PhaseResult) => {
    console.log(
      `${label}: ${result.requests} requests in ${result.seconds.toFixed(1)} s = ${(result.requests / result.seconds).toFixed(0)} requests/s, ` +
        `${(result.bytes / 1e6 / result.seconds).toFixed(1)} MB/s, ${result.sessions} viewer sessions, ${result.errors} errors`,
    );
    line('info.json', result.latencies.info);
    line('tiles', result.latencies.tile);
    if (result.latencies.dynamic.length > 0) line('dynamic', result.latencies.dynamic);
    for (const [key, { count, example }] of Object.entries(result.errorBreakdown)) console.log(`  ERROR ${key}: ${count}× (e.g. ${example})`);
    if (result.redirects > 0) console.log(`  ${result.redirects} dynamic answers were 303 to a stored render (too large to send inline), followed`);
    if (result.keepAliveRetries > 0) console.log(`  ${result.keepAliveRetries} requests retried after the server closed their kept-alive connection (not errors; see load-viewers.ts)`);
    if (result.staticFallbacks > 0) console.log(`  ${result.staticFallbacks} info.json/tile requests answered by the Image API, not the store, e.g. ${result.staticFallbackExamples.join(' ')}`);
  };
  console.log('');
  if (referenceStatic && imagehubStatic) {
    report(`reference (bare node:http, bytes in memory), static only`, referenceStatic);
    report(`imagehub, static only`, imagehubStatic);
  }
  report(`imagehub, full mix`, main);
  if (main.dynamicServedStatic > 0) console.log(`  (${main.dynamicServedStatic} random dynamic requests named a stored file and were served from the store)`);

  // Memory: see the header for the definition.
  const inMain = samples.filter((s) => s.phase === 'main' && s.t >= mainStart && s.t <= mainEnd);
  const at = (from: number, to: number) => inMain.filter((s) => s.t >= mainStart + from * (mainEnd - mainStart) && s.t <= mainStart + to * (mainEnd - mainStart)).map((s) => s.rssMb);
  const early = at(0.1, 0.2);
  const late = at(0.9, 1);
  const rssStart = median(early);
  const rssEnd = median(late);
  const growth = rssEnd - rssStart;
  const minutesBetween = (0.8 * (mainEnd - mainStart)) / 60;
  const serverCpu = inMain.length > 1 ? inMain.at(-1)!.cpuSeconds - inMain[0]!.cpuSeconds : NaN;
  console.log(`server RSS (pid ${pid}, every second; ${samples.length} samples):`);
  for (const name of ['setup', 'reference', 'static', 'main']) {
    const values = samples.filter((s) => s.phase === name).map((s) => s.rssMb);
    if (values.length > 0) console.log(`  ${name.padEnd(10)} min ${Math.min(...values).toFixed(0)} MB, median ${median(values).toFixed(0)} MB, max ${Math.max(...values).toFixed(0)} MB (${values.length} samples)`);
  }
  const deciles = Array.from({ length: 10 }, (_, i) => median(at(i / 10, (i + 1) / 10)));
  console.log(`  main run by tenths (median MB): ${deciles.map((v) => (Number.isNaN(v) ? '–' : v.toFixed(0))).join(' ')}`);
  console.log(`  growth: median of the last tenth ${rssEnd.toFixed(0)} MB − median of the second tenth ${rssStart.toFixed(0)} MB = ${growth.toFixed(1)} MB (${(growth / minutesBetween).toFixed(1)} MB/min)`);
  console.log(
    `CPU during the main run: server ${serverCpu.toFixed(1)} s (${((100 * serverCpu) / main.seconds).toFixed(0)} % of one core), ` +
      `load client (this process) ${((clientCpu.user + clientCpu.system) / 1e6).toFixed(1)} s; 2 cores shared`,
  );
  if (complaints.length > 0) {
    console.log(`server log lines that look like problems during the load (${complaints.length}):`);
    for (const complaint of complaints.slice(0, 10)) console.log(`  ${complaint.slice(0, 300)}`);
  } else console.log('server log: nothing that looks like an error or warning during the load');

  const figures: Record<string, number | string> = {
    bench: 'load',
    duration_s: round1(main.seconds),
    viewers: VIEWERS,
    connections_per_viewer: CONNECTIONS,
    images: images.length,
    sessions: main.sessions,
    requests: main.requests,
    errors: main.errors,
    rps: round1(main.requests / main.seconds),
    p50_ms: round1(percentile(all, 50)),
    p95_ms: round1(percentile(all, 95)),
    static_requests: staticLatencies.length,
    static_p50_ms: round1(percentile(staticLatencies, 50)),
    static_p95_ms: round1(percentile(staticLatencies, 95)),
    dynamic_requests: main.latencies.dynamic.length,
    dynamic_p50_ms: round1(percentile(main.latencies.dynamic, 50)),
    dynamic_p95_ms: round1(percentile(main.latencies.dynamic, 95)),
    static_fallbacks: main.staticFallbacks,
    keepalive_retries: main.keepAliveRetries,
    redirects_followed: main.redirects,
    mb_per_s: round1(main.bytes / 1e6 / main.seconds),
    rss_start_mb: Math.round(rssStart),
    rss_end_mb: Math.round(rssEnd),
    rss_max_mb: Math.round(Math.max(...inMain.map((s) => s.rssMb))),
    rss_growth_mb: round1(growth),
    rss_growth_mb_per_min: round1(growth / minutesBetween),
    server_cpu_s: round1(serverCpu),
    client_cpu_s: round1((clientCpu.user + clientCpu.system) / 1e6),
  };
  if (referenceStatic && imagehubStatic) {
    const ref = [...referenceStatic.latencies.info, ...referenceStatic.latencies.tile];
    const ours = [...imagehubStatic.latencies.info, ...imagehubStatic.latencies.tile];
    Object.assign(figures, {
      static_only_errors: imagehubStatic.errors,
      static_only_rps: round1(imagehubStatic.requests / imagehubStatic.seconds),
      static_only_p50_ms: round1(percentile(ours, 50)),
      static_only_p95_ms: round1(percentile(ours, 95)),
      reference_errors: referenceStatic.errors,
      reference_rps: round1(referenceStatic.requests / referenceStatic.seconds),
      reference_p50_ms: round1(percentile(ref, 50)),
      reference_p95_ms: round1(percentile(ref, 95)),
      ratio_static_p50: Math.round((percentile(ours, 50) / percentile(ref, 50)) * 100) / 100,
      ratio_static_rps: Math.round((imagehubStatic.requests / imagehubStatic.seconds / (referenceStatic.requests / referenceStatic.seconds)) * 1000) / 1000,
    });
    console.log(
      `static only, imagehub vs the bare reference: p50 ${ms(percentile(ours, 50))} vs ${ms(percentile(ref, 50))} (ratio ${figures.ratio_static_p50}), ` +
        `${figures.static_only_rps} vs ${figures.reference_rps} requests/s (ratio ${figures.ratio_static_rps})`,
    );
  }
  await cleanUp();
  console.log(JSON.stringify(figures));
  process.exitCode = main.errors > 0 ? 1 : 0;
} catch (error) {
  await cleanUp();
  throw error;
}
