import { formatBytes } from './policy.js';

export interface ProgressSample {
  phase: 'write' | 'verify';
  bytes: number;
  total: number;
  /** Average over the last few seconds. */
  bytesPerSecond: number;
  /** Seconds left at that speed; null until the speed is known. */
  etaSeconds: number | null;
}

/**
 * Speed over a sliding window (the last `windowMs`), so the ETA follows the device's real pace
 * (USB sticks slow down when their cache fills) instead of the average since the start.
 */
export class RateMeter {
  private readonly samples: Array<{ t: number; bytes: number }> = [];
  constructor(
    private readonly phase: ProgressSample['phase'],
    private readonly windowMs = 3000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  sample(bytes: number, total: number): ProgressSample {
    const t = this.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    const bytesPerSecond = dt > 0 ? (bytes - first.bytes) / dt : 0;
    const etaSeconds = bytesPerSecond > 0 ? Math.max(0, (total - bytes) / bytesPerSecond) : null;
    return { phase: this.phase, bytes, total, bytesPerSecond, etaSeconds };
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** One progress line: `write  [#####.....]  48%  120.0 MiB / 250.0 MiB  35.2 MiB/s  ETA 0:04`. */
export function renderProgress(p: ProgressSample, barWidth = 24): string {
  const fraction = p.total > 0 ? Math.min(1, p.bytes / p.total) : 1;
  const filled = Math.round(fraction * barWidth);
  const bar = '#'.repeat(filled) + '.'.repeat(barWidth - filled);
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  const speed = p.bytesPerSecond > 0 ? `${formatBytes(p.bytesPerSecond)}/s` : '-';
  const eta = p.etaSeconds === null ? 'ETA -' : `ETA ${formatDuration(p.etaSeconds)}`;
  return `${p.phase.padEnd(6)} [${bar}] ${pct}  ${formatBytes(p.bytes)} / ${formatBytes(p.total)}  ${speed}  ${eta}`;
}
