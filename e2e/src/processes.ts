import { spawn, ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as https from 'node:https';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The lowest local port of the kernel's range for outgoing connections. A port picked for a server from inside
 * it can be taken by any client socket between the pick and the server's bind (seen: a controller's
 * metrics port lost to a connection during the e2e run), so picks come from below it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 0) return low;
  } catch {
    // Not Linux: the IANA dynamic range.
  }
  return 49152;
}

/** Ports this process handed out, never handed out twice. */
const handedOut = new Set<number>();
const PICK_FLOOR = 10_000;

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * A port that was free a moment ago on 127.0.0.1, chosen at random below the ephemeral range (so
 * client sockets cannot take it before its server binds), or from the kernel when there is no room.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralLow();
  if (below - PICK_FLOOR >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate = PICK_FLOOR + Math.floor(Math.random() * (below - PICK_FLOOR));
      if (handedOut.has(candidate)) continue;
      const port = await tryListen(candidate);
      if (port !== undefined) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  handedOut.add(port);
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A child process whose stdout/stderr go to `<logDir>/<name>.log`. */
export class ManagedProcess {
  private child?: ChildProcess;
  private exited = false;
  private exitCode: number | null = null;
  readonly logFile: string;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    logDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.logFile = path.join(logDir, `${name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process; after it exited, starts it again with the same command line. */
  start(): void {
    this.exited = false;
    this.exitCode = null;
    const fd = openSync(this.logFile, 'a');
    // Own process group: a Ctrl-C in the terminal reaches us, and we stop the children in order.
    this.child = spawn(this.command, this.args, { stdio: ['ignore', fd, fd], detached: true, env: this.env });
    closeSync(fd);
    this.child.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
    });
  }

  /** Throws with the tail of the log when the process has died. */
  assertAlive(): void {
    if (this.exited) {
      throw new Error(`${this.name} exited with code ${this.exitCode}; log ${this.logFile}:\n${this.logTail()}`);
    }
  }

  logTail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  get running(): boolean {
    return this.child !== undefined && !this.exited;
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || this.exited || child.pid === undefined) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      return;
    }
    await done;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || this.exited || child.pid === undefined) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([done, timer])) === 'timeout') {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await done;
    }
  }

  /** Synchronous last resort, for process 'exit' handlers. */
  killNow(): void {
    if (this.child?.pid !== undefined && !this.exited) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

export interface HealthProbe {
  url: string;
  ca?: Buffer;
  /** Client certificate, for endpoints that require authentication. */
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
}

/** GETs `probe.url` and resolves with the status code (0 when the connection failed). */
export function probeOnce(probe: HealthProbe, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const u = new URL(probe.url);
    const opts: https.RequestOptions = { method: 'GET', timeout: timeoutMs };
    const onRes = (res: http.IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    };
    const req =
      u.protocol === 'https:'
        ? https.request(u, { ...opts, ca: probe.ca, cert: probe.cert, key: probe.key, rejectUnauthorized: !probe.insecure }, onRes)
        : http.request(u, opts, onRes);
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Waits until the probe answers 200, failing early if the process dies. */
export async function waitHealthy(proc: ManagedProcess, probe: HealthProbe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    proc.assertAlive();
    last = await probeOnce(probe);
    if (last === 200) return;
    await sleep(250);
  }
  throw new Error(
    `${proc.name} not healthy within ${timeoutMs} ms (${probe.url} last answered ${last || 'no connection'}); log ${proc.logFile}:\n${proc.logTail()}`,
  );
}

/** Where every control plane of this machine keeps its state dir: one `keda-ts-cp-*` dir each. */
export const stateRoot = os.tmpdir();
const ownerFile = 'owner.pid';
const pidsFile = 'pids';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export function recordOwner(stateDir: string, pids: number[]): void {
  writeFileSync(path.join(stateDir, ownerFile), String(process.pid));
  writeFileSync(path.join(stateDir, pidsFile), pids.join('\n'));
}

/**
 * Kills the processes of control planes whose owning process died without stopping them
 * (a killed test run), and removes their state dirs, so no orphan outlives a run for long.
 */
export function reapStaleControlPlanes(): string[] {
  return reapStaleStateDirs('keda-ts-cp-');
}

/**
 * Kills the recorded processes of every `<prefix>*` state dir under the temp dir whose owning
 * process is gone, and removes the dir. Shared by control planes and test servers.
 */
export function reapStaleStateDirs(prefix: string): string[] {
  const reaped: string[] = [];
  for (const entry of readdirSync(stateRoot)) {
    if (!entry.startsWith(prefix)) continue;
    const dir = path.join(stateRoot, entry);
    const owner = path.join(dir, ownerFile);
    if (!existsSync(owner)) continue;
    const ownerPid = Number(readFileSync(owner, 'utf8'));
    if (ownerPid && isAlive(ownerPid)) continue;
    const pids = existsSync(path.join(dir, pidsFile))
      ? readFileSync(path.join(dir, pidsFile), 'utf8').split('\n').map(Number).filter(Boolean)
      : [];
    for (const pid of pids) {
      // Only a process whose command line names this state dir is ours (pids get reused).
      if (isAlive(pid) && commandLine(pid).includes(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}
