/**
 * Loading LIDO files into the mirror, for institutions without an OAI-PMH endpoint: a `lido` record, a `lidoWrap`
 * of many, or a saved OAI-PMH response, or a folder of such files (`*.xml`, recursively). Each record goes through
 * the same mapping, rights decision and conditional upsert as a harvested one.
 *
 * A file carries no OAI datestamp, so a record's version is the file's modification time (seconds, UTC): loading
 * the same file again changes nothing, an edited file (newer mtime) replaces the records it holds, and a record the
 * repository has since published with a later datestamp is not overwritten by an older file. Records inside a
 * saved OAI-PMH response keep their header datestamps. Deleted headers in such a response mark records deleted.
 * Files are read in name order; a record found again in a later file is skipped and reported.
 *
 * Each file is read whole: files of a few hundred MB are fine, larger exports should be split.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseLidoDocument } from '../core/lido.ts';
import { MAX_SKIPPED_KEPT, RecordTooLargeError, type HarvestCounts, type SkippedEntry } from '../core/mirror.ts';
import { decideRights, type RightsAuthority } from '../core/rights.ts';
import type { UpsertInput } from '../store/records.ts';
import type { RecordMirror } from './harvest.ts';

/** Records per upsertMany: one BatchGetItem's worth. */
const UPSERT_BATCH = 100;

export interface FileLoadOptions {
  /** Files or folders. */
  paths: string[];
  records: Pick<RecordMirror, 'upsertMany' | 'markDeleted'>;
  /** Harvest source the records are tagged with; default `file:{name of the first path}`. */
  source?: string;
  authority?: RightsAuthority;
  now?: () => number;
  /** Called after each file. */
  onFile?: (progress: FileLoadProgress) => void;
}

export interface FileLoadProgress {
  file: string;
  files: number;
  totalFiles: number;
  counts: HarvestCounts;
}

export interface FileLoadReport extends HarvestCounts {
  source: string;
  files: number;
  skippedRecords: SkippedEntry[];
  durationMs: number;
}

export async function loadLidoFiles(options: FileLoadOptions): Promise<FileLoadReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const files = (await Promise.all(options.paths.map(xmlFilesUnder))).flat();
  const source = options.source ?? `file:${basename(options.paths[0] ?? 'records')}`;
  const counts: HarvestCounts = { added: 0, updated: 0, unchanged: 0, stale: 0, deleted: 0, skipped: 0, outsideSet: 0 };
  const skippedRecords: SkippedEntry[] = [];
  const skip = (entry: SkippedEntry) => {
    counts.skipped++;
    if (skippedRecords.length < MAX_SKIPPED_KEPT) skippedRecords.push(entry);
  };
  const year = new Date(now()).getUTCFullYear();
  // A record found in two files of one load (an old and a new export side by side) is loaded once, from the first
  // file in name order: otherwise each load would flip it between the two versions.
  const loadedFrom = new Map<string, string>();
  // Records are stored a batch at a time: one read of their versions, then writes of the new and changed ones.
  const batch: UpsertInput[] = [];
  const store = async () => {
    if (batch.length === 0) return;
    const results = await options.records.upsertMany(batch, source, new Date(now()).toISOString());
    results.forEach((result, i) => {
      if (result instanceof RecordTooLargeError) skip({ identifier: batch[i]!.record.recordId, reason: result.message });
      else counts[result]++;
    });
    batch.length = 0;
  };

  for (const [index, file] of files.entries()) {
    const { mtime } = await stat(file);
    const fileVersion = mtime.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const parsed = parseLidoDocument(await readFile(file, 'utf8'));
    for (const entry of parsed.skipped) skip({ ...entry, reason: `${basename(file)}: ${entry.reason}` });
    for (const { record, xml } of parsed.records) {
      const first = loadedFrom.get(record.recordId);
      if (first !== undefined) {
        skip({ identifier: record.recordId, reason: `${basename(file)}: the same record is in ${basename(first)}, which was loaded` });
        continue;
      }
      loadedFrom.set(record.recordId, file);
      const datestamp = record.datestamp ?? fileVersion;
      if (record.deleted || xml === undefined) {
        const result = await options.records.markDeleted(record.recordId, datestamp, new Date(now()).toISOString(), source);
        counts[result === 'deleted' ? 'deleted' : result]++;
        continue;
      }
      const versioned = { ...record, datestamp };
      batch.push({ record: versioned, rawXml: xml, rights: decideRights(versioned, options.authority, year) });
      if (batch.length === UPSERT_BATCH) await store();
    }
    await store();
    options.onFile?.({ file, files: index + 1, totalFiles: files.length, counts: { ...counts } });
  }
  return { source, files: files.length, ...counts, skippedRecords, durationMs: now() - started };
}

/** A file as itself; a folder as its `*.xml` files, recursively, in name order. */
async function xmlFilesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new FileLoadError(`${path}: no such file or folder`);
  if (info.isFile()) return [path];
  if (!info.isDirectory()) throw new FileLoadError(`${path}: not a file or folder`);
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.xml$/i.test(entry.name) && !entry.name.startsWith('.'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

export class FileLoadError extends Error {}
