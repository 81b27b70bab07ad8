/**
 * What both sides of the image benchmark share: the plan, and the loop that answers every request one after
 * another and prints the latencies (ms) and the process's peak RSS as JSON. Each side is its own entry point
 * (image-imagehub.ts, image-reference.ts) and process, so peak RSS is its own and the two sharp builds (ours and
 * iiif-processor's) never share a process.
 */
import { readFileSync } from 'node:fs';
import { peakRssMb } from './peak-rss.ts';

export interface BenchPlan {
  identifier: string;
  maxArea: number;
  /** imagehub's `max` for this image, which the reference is held to as well. */
  maxSize: { width: number; height: number };
  reference: { bucket: string; key: string; pages: { width: number; height: number }[] };
  paths: string[];
  warmup: number;
}

export function readPlan(): BenchPlan {
  return JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BenchPlan;
}

/** `answer` returns the response's byte length, or throws. */
export async function runPlan(plan: BenchPlan, answer: (path: string) => Promise<number>): Promise<void> {
  const latencies: number[] = [];
  let bytes = 0;
  for (const [i, path] of plan.paths.entries()) {
    const start = performance.now();
    const size = await answer(path);
    if (i >= plan.warmup) {
      latencies.push(performance.now() - start);
      bytes += size;
    }
  }
  console.log(JSON.stringify({ latencies, bytes, peakRssMb: peakRssMb() }));
}
