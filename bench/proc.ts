// Memory and CPU of a process from /proc (Linux): peak resident set (VmHWM), the current
// one, and user + system CPU time. Sampled, so it also works after a sample is missed.

import { readFileSync } from 'node:fs';

/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on Linux builds we meet). */
const CLOCK_TICKS = 100;

export interface ProcSample {
  at: number;
  rssMb: number;
  /** Peak resident set since the process started. */
  hwmMb: number;
  cpuSeconds: number;
}

export function sampleProcess(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const kb = (field: string): number | null => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return match ? Number(match[1]) : null;
    };
    const rss = kb('VmRSS');
    const hwm = kb('VmHWM');
    // A process that has exited but not been reaped yet (a zombie) has no memory lines.
    if (rss === null || hwm === null) return null;
    // Fields after the command name (which may hold spaces) start at state (field 3).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { at: Date.now(), rssMb: rss / 1024, hwmMb: hwm / 1024, cpuSeconds: (utime + stime) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

export class ProcessMonitor {
  private last: ProcSample | null = null;
  private peakRssMb = 0;
  private peakHwmMb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    intervalMs = 500,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): ProcSample | null {
    const s = sampleProcess(this.pid);
    if (s) {
      this.last = s;
      this.peakRssMb = Math.max(this.peakRssMb, s.rssMb);
      this.peakHwmMb = Math.max(this.peakHwmMb, s.hwmMb);
    }
    return this.last;
  }

  /** CPU seconds so far (the last sample's when the process is gone). */
  cpuSeconds(): number {
    return this.sample()?.cpuSeconds ?? 0;
  }

  summary(): { peakRssMb: number; hwmMb: number; cpuSeconds: number } {
    const s = this.sample();
    return { peakRssMb: round1(this.peakRssMb), hwmMb: round1(this.peakHwmMb), cpuSeconds: round1(s?.cpuSeconds ?? 0) };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
