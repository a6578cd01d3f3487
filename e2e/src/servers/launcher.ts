/**
 * Starts the real event-source servers (RabbitMQ, Redis, PostgreSQL, Prometheus, Kafka, ...) that
 * scaler tests and benchmarks talk to: on 127.0.0.1, on free ports, with a temp data dir, waiting
 * until the server answers, and stopping it (and everything it forked) afterwards. A run that is
 * killed leaves its servers behind; the next start reaps them.
 *
 * A server is described once as a TestServerDefinition (see the sibling files) and started with
 * startTestServer(definition, options).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, sleep } from '../processes';

const STATE_PREFIX = 'keda-ts-srv-';
/** Marks every process a launcher starts, so a later run can find the leftovers of a killed one. */
const STATE_ENV = 'KEDA_TS_SERVER_STATE_DIR';

/** What a server definition gets to build its command line and readiness check. */
export interface ServerContext {
  /** Name of the server (for logs and errors). */
  name: string;
  /** Free loopback ports, one per name the definition asked for. */
  ports: Record<string, number>;
  /** A fresh, empty directory for the server's data; removed on stop. */
  dataDir: string;
  /** Where the server's stdout/stderr go. */
  logFile: string;
  /** Runs a helper command to completion (setup steps such as `initdb`), failing with its output. */
  run(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string>;
}

export interface TestServerDefinition<P extends string = string> {
  name: string;
  /** Names of the ports to allocate, e.g. ['amqp', 'http']. */
  ports: readonly P[];
  /** Optional setup before the server starts (write config files, init a data dir). */
  prepare?(ctx: ServerContext & { ports: Record<P, number> }): Promise<void>;
  /** The long-running server process, in the foreground (never a self-daemonising form). */
  command(ctx: ServerContext & { ports: Record<P, number> }): { command: string; args: string[]; env?: NodeJS.ProcessEnv };
  /** True once the server serves requests; polled until `readyTimeoutMs`. Errors count as "not yet". */
  ready(ctx: ServerContext & { ports: Record<P, number> }): Promise<boolean>;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Optional orderly shutdown before the process group gets SIGTERM. */
  shutdown?(ctx: ServerContext & { ports: Record<P, number> }): Promise<void>;
}

export interface RunningTestServer<P extends string = string> {
  readonly name: string;
  readonly ports: Record<P, number>;
  readonly dataDir: string;
  readonly logFile: string;
  /** The last lines of the server's log (for error messages). */
  logTail(lines?: number): string;
  /** Stops the server (SIGKILL of the whole group is the last resort) and removes its data dir. Idempotent. */
  stop(): Promise<void>;
  /** Stops the process but keeps the data dir, for tests of a source that goes away and comes back. */
  pause(): Promise<void>;
  /** Starts the process again on the same ports and data, after pause(). */
  resume(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** Pids of processes started under `stateDir` (they carry STATE_ENV in their environment). */
function processesMarkedWith(stateDir: string): number[] {
  const marker = `${STATE_ENV}=${stateDir}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(marker)) pids.push(Number(entry));
    } catch {
      /* gone or not ours */
    }
  }
  return pids;
}

/** Kills servers whose owning test process is gone and removes their state dirs. */
export function reapStaleTestServers(): string[] {
  const reaped: string[] = [];
  for (const entry of readdirSync(os.tmpdir())) {
    if (!entry.startsWith(STATE_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), entry);
    const ownerFile = path.join(dir, 'owner.pid');
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : 0;
    if (owner && isAlive(owner)) continue;
    for (const pid of processesMarkedWith(dir)) killGroup(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}

function runToCompletion(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} could not start: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.slice(-3000)}`));
    });
  });
}

/** Starts a server from its definition and resolves once it is ready. */
export async function startTestServer<P extends string>(
  definition: TestServerDefinition<P>,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<RunningTestServer<P>> {
  reapStaleTestServers();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `${STATE_PREFIX}${definition.name}-`));
  writeFileSync(path.join(stateDir, 'owner.pid'), String(process.pid));
  const dataDir = path.join(stateDir, 'data');
  mkdirSync(dataDir);
  const logFile = path.join(stateDir, `${definition.name}.log`);
  const ports = {} as Record<P, number>;
  for (const name of definition.ports) ports[name] = await freePort();
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...options.env, [STATE_ENV]: stateDir };

  const ctx: ServerContext & { ports: Record<P, number> } = {
    name: definition.name,
    ports,
    dataDir,
    logFile,
    run: (command, args, runOptions) =>
      runToCompletion(command, args, { ...baseEnv, ...runOptions?.env }, runOptions?.timeoutMs ?? 120_000),
  };
  const logTail = (lines = 30): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let exitNote: string | undefined;
  const killNow = (): void => {
    if (child?.pid !== undefined) killGroup(child.pid, 'SIGKILL');
  };

  const launch = async (): Promise<void> => {
    const { command, args, env } = definition.command(ctx);
    const fd = openSync(logFile, 'a');
    exitNote = undefined;
    // Own process group, so stop() reaches everything the server forks (Erlang's epmd, pg workers...).
    child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: true, env: { ...baseEnv, ...env } });
    closeSync(fd);
    const started = child;
    exited = new Promise((resolve) => {
      started.once('exit', (code, signal) => {
        exitNote = signal ? `killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
      started.once('error', (err) => {
        exitNote = `could not start: ${err.message}`;
        resolve();
      });
    });
    const timeoutMs = definition.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitNote) {
        throw new Error(`${definition.name} (${command} ${args.join(' ')}) ${exitNote}; log ${logFile}:\n${logTail()}`);
      }
      if (await definition.ready(ctx).catch(() => false)) return;
      if (Date.now() > deadline) {
        killNow();
        throw new Error(`${definition.name} not ready within ${timeoutMs} ms; log ${logFile}:\n${logTail()}`);
      }
      await sleep(200);
    }
  };

  const halt = async (): Promise<void> => {
    const running = child;
    if (!running?.pid || exitNote) return;
    if (definition.shutdown) await definition.shutdown(ctx).catch(() => undefined);
    killGroup(running.pid, 'SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
    // Children of the group may outlive the leader; SIGKILL whatever is left either way.
    killGroup(running.pid, 'SIGKILL');
    if (timedOut) await exited;
    for (const pid of processesMarkedWith(stateDir)) killGroup(pid, 'SIGKILL');
  };

  process.on('exit', killNow);
  try {
    if (definition.prepare) await definition.prepare(ctx);
    await launch();
  } catch (err) {
    killNow();
    process.off('exit', killNow);
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }

  let stopped = false;
  return {
    name: definition.name,
    ports,
    dataDir,
    logFile,
    logTail,
    pause: halt,
    resume: launch,
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt();
      process.off('exit', killNow);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
