/**
 * Progress for long CLI commands: one line redrawn in place on a terminal, a plain line now and then otherwise
 * (CI logs, pipes), so logs stay readable and terminals stay calm.
 */
export interface Output {
  write(text: string): void;
  isTTY?: boolean;
}

export class ProgressLine {
  private lastPlain = 0;
  private drawn = false;

  constructor(
    private readonly out: Output,
    /** Plain (non-terminal) output writes at most one line per this many milliseconds. */
    private readonly plainEveryMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  update(text: string, force = false): void {
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[K${text}`);
      this.drawn = true;
      return;
    }
    const at = this.now();
    if (force || at - this.lastPlain >= this.plainEveryMs) {
      this.out.write(`${text}\n`);
      this.lastPlain = at;
    }
  }

  /** Leave the last progress line and continue below it. */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

/** `[#########-----------]  45 %` */
export function bar(fraction: number, width = 20): string {
  const clamped = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)} %`;
}

export function rate(count: number, ms: number): string {
  return ms > 0 ? `${(count / (ms / 1000)).toFixed(count / (ms / 1000) >= 10 ? 0 : 1)}/s` : '';
}
