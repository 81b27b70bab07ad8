/** One ingest render of a master to a directory, in its own process so its peak RSS can be measured. */
import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import sharp from 'sharp';
import { DEFAULTS } from '../../functions/core/settings.ts';
import { openMaster } from '../../functions/imaging/master.ts';
import { renderPyramid } from '../../functions/imaging/pyramid.ts';

sharp.concurrency(availableParallelism());
sharp.cache(false);
const [masterPath, outDir] = process.argv.slice(2) as [string, string];
const { mkdirSync } = await import('node:fs');
mkdirSync(outDir, { recursive: true });
const master = await openMaster(masterPath, statSync(masterPath).size, { maxInputPixels: DEFAULTS.maxInputPixels, workDir: outDir });
const pyramid = await renderPyramid(master, outDir, {
  tileSize: DEFAULTS.tileSize,
  jpegQuality: DEFAULTS.jpegQuality,
  limits: { maxArea: DEFAULTS.maxArea },
  maxInputPixels: DEFAULTS.maxInputPixels,
});
console.log(JSON.stringify({ files: pyramid.files.length, ...pyramid.timings }));
