import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat and /proc/stat (USER_HZ): 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

/** Group names the sampler adds to the named ones. */
export const LOAD_GENERATOR = 'load generator';

interface ProcStat {
  /** The command name (`comm`, as in /proc/<pid>/comm). */
  name: string;
  /** When the process started, in clock ticks since boot: with the pid, tells a reused pid apart. */
  startTicks: string;
  /** CPU time (user + system) in ms. */
  cpuMs: number;
}

/** /proc/<pid>/stat of a process, or undefined when it is gone or this is not Linux. */
function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (2nd field) may hold spaces and parentheses: the fields that follow start after the last ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return {
      name: stat.slice(stat.indexOf('(') + 1, close),
      startTicks: fields[19] ?? '',
      cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of a process in ms, or undefined when it is gone or this is not Linux. */
export function cpuMs(pid: number): number | undefined {
  return procStat(pid)?.cpuMs;
}

/** Pids whose command name is `name` (e.g. `beam.smp`, `postgres`); empty where there is no /proc. */
export function pidsNamed(name: string): number[] {
  return [...new ProcessLister().list()].filter(([, comm]) => comm === name).map(([pid]) => pid);
}

/**
 * Lists the processes of the machine with their command names, reading the name of a pid only the
 * first time it is seen (a pid keeps its name once exec'd; a pid gone from the list is forgotten).
 */
class ProcessLister {
  private names = new Map<number, string>();

  list(): Map<number, string> {
    const names = new Map<number, string>();
    let entries: string[] = [];
    try {
      entries = readdirSync('/proc');
    } catch {
      return names;
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      let name = this.names.get(pid);
      if (name === undefined) {
        try {
          name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        } catch {
          continue; // gone meanwhile
        }
      }
      names.set(pid, name);
    }
    this.names = names;
    return names;
  }
}

/** Busy CPU time of the whole machine in ms: user + nice + system + irq + softirq + steal of every CPU. */
export function machineBusyMs(): number | undefined {
  try {
    let ticks = 0;
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      // cpu0, cpu1, ...: the aggregate "cpu" line is their sum and is not counted again
      if (!/^cpu\d+ /.test(line)) continue;
      const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
      // guest time is already part of user (and guest_nice of nice): not added again
      ticks += [user, nice, system, irq, softirq, steal].reduce<number>((sum, n) => sum + (n ?? 0), 0);
    }
    return (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Who belongs to a group: fixed pids (an app's processes), or every process with a command name. */
export type CpuGroup = { pids: number[] } | { named: string };
export type CpuGroups = Record<string, CpuGroup>;
/** CPU ms of each group, of the load generator (this process), and `machine total` (all CPUs' busy time). */
export type CpuSnapshot = Record<string, number>;

export interface CpuUsage {
  /** CPU ms of each named group and of the load generator over the interval. */
  groups: CpuSnapshot;
  /** Busy CPU ms of the whole machine over the same interval (/proc/stat), NaN where there is none. */
  machineTotal: number;
}

interface Reading {
  group: string;
  first: number;
  latest: number;
}

/**
 * Samples the CPU time of groups of processes from `start()` until `stop()`, every `intervalMs`: each
 * sample re-lists the processes of the named groups, so that a process that appears during the
 * interval (a PostgreSQL backend a pool opens) counts all its CPU, and one that exits keeps what it had
 * used at its last sample. A group's CPU is the sum over its processes of (latest - first reading),
 * where the first reading of a process that appeared after the start is 0.
 */
export class CpuSampler {
  private readonly readings = new Map<string, Reading>();
  private readonly lister = new ProcessLister();
  private timer?: NodeJS.Timeout;
  private ownAtStart = 0;
  private machineAtStart = NaN;

  constructor(
    private readonly groups: CpuGroups,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.readings.clear();
    this.sample(true);
    this.machineAtStart = machineBusyMs() ?? NaN;
    this.ownAtStart = ownCpuMs();
    this.timer = setInterval(() => this.sample(false), this.intervalMs);
    this.timer.unref();
  }

  /** A last sample; the CPU ms of each group over the interval and the machine's busy CPU ms. */
  stop(): CpuUsage {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample(false);
    const machineTotal = (machineBusyMs() ?? NaN) - this.machineAtStart;
    const groups: CpuSnapshot = Object.fromEntries(Object.keys(this.groups).map((name) => [name, 0]));
    for (const reading of this.readings.values()) {
      groups[reading.group] = (groups[reading.group] ?? 0) + Math.max(0, reading.latest - reading.first);
    }
    groups[LOAD_GENERATOR] = ownCpuMs() - this.ownAtStart;
    return { groups, machineTotal };
  }

  private sample(atStart: boolean): void {
    const needsListing = Object.values(this.groups).some((group) => 'named' in group);
    const names = needsListing ? this.lister.list() : new Map<number, string>();
    for (const [group, members] of Object.entries(this.groups)) {
      const pids =
        'pids' in members ? members.pids : [...names].filter(([, name]) => name === members.named).map(([pid]) => pid);
      for (const pid of pids) {
        const stat = procStat(pid);
        if (!stat || ('named' in members && stat.name !== members.named)) continue;
        const key = `${pid}@${stat.startTicks}`;
        const reading = this.readings.get(key);
        if (reading) reading.latest = stat.cpuMs;
        // a process seen at the start counts from there; one that appeared since, from its beginning
        else this.readings.set(key, { group, first: atStart ? stat.cpuMs : 0, latest: stat.cpuMs });
      }
    }
  }
}

function ownCpuMs(): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1000;
}
