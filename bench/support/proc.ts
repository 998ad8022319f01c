import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Memory figures of a Linux process from `/proc/<pid>/status`, in bytes. */
export interface ProcMemory {
  /** Resident set size now. */
  readonly rss: number;
  /** Peak resident set size ("high water mark") since start or the last {@link resetPeakRss}. */
  readonly hwm: number;
}

export function readProcMemory(pid: number): ProcMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  };
  const rss = field('VmRSS');
  const hwm = field('VmHWM');
  return rss === undefined || hwm === undefined ? undefined : { rss, hwm };
}

/**
 * Resets VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0), so a
 * phase's peak can be read without restarting the process. False when not permitted.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples a process's VmRSS on a timer and keeps the maximum since the last {@link reset}. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #max = 0;
  #samples = 0;

  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
    this.sample();
  }

  sample(): void {
    const memory = readProcMemory(this.#pid);
    if (memory === undefined) return;
    this.#max = Math.max(this.#max, memory.rss);
    this.#samples += 1;
  }

  /** Largest VmRSS seen since the last reset (bytes), with one fresh sample taken now. */
  max(): number {
    this.sample();
    return this.#max;
  }

  get samples(): number {
    return this.#samples;
  }

  reset(): void {
    this.#max = 0;
    this.#samples = 0;
    this.sample();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Clock ticks per second of /proc/stat (USER_HZ): 100 on every Linux architecture we run. */
const USER_HZ = 100;

/**
 * CPU seconds the whole machine spent busy (user, nice, system, irq, softirq, steal; not idle
 * or waiting on I/O) since boot, from `/proc/stat`: a difference across a measure counts the
 * kernel's work for it too (page cache, writeback), which a process's own times leave out.
 * `undefined` where there is no /proc.
 */
export function machineBusySeconds(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / USER_HZ;
}

/** Fields of `/proc/<pid>/stat` after the command name (which may hold spaces), or undefined. */
function statFields(pid: number | 'self'): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU seconds (user + system) a process has used since it started, from `/proc/<pid>/stat`;
 * with `children`, also those of its children it has waited for. `undefined` once it is
 * gone or where there is no /proc.
 */
export function processCpuSeconds(
  pid: number | 'self',
  options: { children?: boolean } = {},
): number | undefined {
  const fields = statFields(pid);
  if (fields === undefined) return undefined;
  // utime, stime, cutime, cstime: fields 14–17 of the file, 12–15 after the name.
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
  const own = utime! + stime!;
  return (options.children === true ? own + cutime! + cstime! : own) / USER_HZ;
}

/**
 * CPU seconds of a process and every living descendant (a database server and its
 * backends), plus the children each has waited for.
 */
export function treeCpuSeconds(root: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name));
  } catch {
    return undefined;
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (!Number.isInteger(ppid)) continue;
    const siblings = children.get(ppid) ?? [];
    siblings.push(Number(entry));
    children.set(ppid, siblings);
  }
  let total = 0;
  let found = false;
  for (const pending = [root]; pending.length > 0; ) {
    const pid = pending.pop()!;
    const seconds = processCpuSeconds(pid, { children: true });
    if (seconds === undefined) continue;
    found = true;
    total += seconds;
    pending.push(...(children.get(pid) ?? []));
  }
  return found ? total : undefined;
}

/**
 * CPU seconds (user + system, every thread) the processes have used since they started, from
 * `/proc/<pid>/stat`: unlike {@link machineBusySeconds}, other work on a shared machine does
 * not count, though the kernel's work on the processes' behalf outside their threads
 * (writeback, softirqs) does not either. `undefined` where there is no /proc.
 */
export function processesCpuSeconds(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    // The command name, in parentheses, may hold spaces: count the fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    total += (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  }
  return total;
}
