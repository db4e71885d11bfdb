/**
 * CPU time spent during a measured window: by every PostgreSQL server process, by this
 * process (the app server; the load generator is a process of its own) and by the whole
 * machine. Linux only (/proc); elsewhere the PostgreSQL and machine figures are absent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * How long the bench waits for work still in flight to finish before a window closes
 * (and before one opens after a warm-up): requests autocannon gave up on when its run
 * ended are still served (their transactions commit), and the backends of clients that
 * disconnected still exit. Far longer than the slowest p99 the bench sees.
 */
export const SETTLE_MS = 1_000;

export const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/** Consistent snapshots attempted before giving up while backends keep coming and going. */
const SNAPSHOT_ATTEMPTS = 20;

/** CPU seconds used during one window. */
export interface CpuWindow {
  wallSeconds: number;
  /** user + system of the postmaster and every process it started, exited ones included; absent when PostgreSQL is not ours to watch. */
  postgresSeconds: number | undefined;
  /** process.cpuUsage() of this process, every thread: the app server plus the bench's idle runner. */
  appSeconds: number;
  /** Busy time of every CPU (all but idle and iowait in /proc/stat), whoever used it. */
  machineSeconds: number | undefined;
}

/** Without /proc (not Linux) there is no PostgreSQL or machine figure. */
const hasProc = existsSync('/proc/self/stat');

/**
 * USER_HZ, which /proc/<pid>/stat and /proc/stat count in. `getconf CLK_TCK` asks libc;
 * Linux has fixed it at 100 on every architecture Node runs on, hence the fallback.
 */
const clockTicksPerSecond = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

interface ProcessTicks {
  pid: number;
  /** Field 22: distinguishes a reused pid from the process that had it. */
  startTime: number;
  ppid: number;
  /** utime + stime (fields 14, 15): its own CPU so far. */
  own: number;
  /** cutime + cstime (fields 16, 17): CPU of its children that have exited and that it has reaped (waited for). */
  reapedChildren: number;
}

/** /proc/<pid>/stat, or undefined once the process is gone (or on a system without /proc). */
function readProcessTicks(pid: number): ProcessTicks | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (number: number) => Number(fields[number - 3]);
  return { pid, startTime: field(22), ppid: field(4), own: field(14) + field(15), reapedChildren: field(16) + field(17) };
}

/** Every live child of `parent`, zombies (exited, not yet reaped) included: /proc/<pid>/task/…/children is not always compiled in, so all of /proc is read. */
function childrenOf(parent: number): ProcessTicks[] {
  const children: ProcessTicks[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const child = readProcessTicks(Number(name));
    if (child?.ppid === parent) children.push(child);
  }
  return children;
}

const identities = (processes: ProcessTicks[]) => processes.map((p) => `${p.pid}@${p.startTime}`).sort().join(',');

/**
 * CPU ticks of the whole PostgreSQL server so far: the postmaster's own, its reaped
 * children's (cutime + cstime: a backend's CPU moves there when it exits and the
 * postmaster waits for it, so backends that came and went inside the window count) and
 * every live child's own. Summing live processes alone would lose every backend that
 * exited during the window, such as pgbench's at its end. The children are listed
 * before and after the postmaster is read, and the snapshot retried until both lists
 * agree: a backend reaped in between would otherwise be missed or counted twice, its
 * whole lifetime's CPU at once.
 */
function postgresTicks(postmasterPid: number): number {
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    const before = childrenOf(postmasterPid);
    const postmaster = readProcessTicks(postmasterPid);
    if (!postmaster) throw new Error(`The PostgreSQL postmaster (pid ${postmasterPid}) is gone.`);
    const after = childrenOf(postmasterPid);
    if (identities(before) === identities(after)) return postmaster.own + postmaster.reapedChildren + before.reduce((sum, child) => sum + child.own, 0);
  }
  throw new Error(`No consistent snapshot of PostgreSQL's processes in ${SNAPSHOT_ATTEMPTS} attempts: backends kept starting or exiting.`);
}

/** Busy ticks of every CPU so far: the first line of /proc/stat is user nice system idle iowait irq softirq steal …; guest time is already in user. */
function machineTicks(): number | undefined {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  } catch {
    return undefined;
  }
  const [, ...values] = (line ?? '').trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
  return [user, nice, system, irq, softirq, steal].reduce((sum: number, value) => sum + (value ?? 0), 0);
}

export interface CpuWatch {
  stop(): CpuWindow;
}

/**
 * From now until stop(). `postmasterPid` absent (a PostgreSQL of BENCH_DATABASE_URL,
 * maybe on another machine): no PostgreSQL figure.
 */
export function watchCpu(postmasterPid: number | undefined): CpuWatch {
  const postgresAt = () => (postmasterPid === undefined || !hasProc ? undefined : postgresTicks(postmasterPid));
  const startedMs = performance.now();
  const postgres = postgresAt();
  const machine = machineTicks();
  const app = process.cpuUsage();
  return {
    stop() {
      const appUsage = process.cpuUsage(app);
      const machineNow = machineTicks();
      const postgresNow = postgresAt();
      const seconds = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? undefined : (to - from) / clockTicksPerSecond);
      return {
        wallSeconds: (performance.now() - startedMs) / 1000,
        postgresSeconds: seconds(postgres, postgresNow),
        appSeconds: (appUsage.user + appUsage.system) / 1e6,
        machineSeconds: seconds(machine, machineNow),
      };
    },
  };
}
