/**
 * This process's own peak RSS in MB. Not `process.resourceUsage().maxRSS`: Linux carries the high-water mark of the
 * memory a child was forked from across exec, so a worker spawned by a large bench parent would report the parent's
 * size. `VmHWM` in /proc/self/status is the peak of the process's own address space since exec.
 */
import { readFileSync } from 'node:fs';

export function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
