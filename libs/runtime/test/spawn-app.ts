import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export type LogLine = Record<string, unknown>;

export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedApp {
  readonly child: ChildProcess;
  /** Parsed JSON lines from stdout so far. */
  readonly logs: LogLine[];
  readonly exited: Promise<AppExit>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first log line (past or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends `signal` and waits for the exit, killing the process if it overstays `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<AppExit>;
}

export interface SpawnTsAppOptions {
  /** Added to (or, when undefined, removed from) the parent's environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/**
 * Runs a TypeScript entry point in a child process through tsx with workspace libs
 * resolved from source (the `@keda-ts/source` condition).
 */
export function spawnTsApp(
  mainPath: string,
  args: readonly string[],
  options: SpawnTsAppOptions = {},
): SpawnedApp {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  // Equivalent to `npx tsx --conditions=@keda-ts/source main.ts`, minus tsx's wrapper process: that
  // relays signals with a 30ms deadline and SIGKILLs a busy child, which makes SIGTERM tests flaky.
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(
    process.execPath,
    ['--conditions=@keda-ts/source', '--import', tsxLoader, mainPath, ...args],
    {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );

  let stdout = '';
  let stderr = '';
  let pending = '';
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // Not a log line (e.g. --help output); kept in stdout().
      }
    }
    waiters.forEach((notify) => notify());
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close' (after the exit and the end of stdout/stderr), so that what a test reads after the exit is all of it.
  const exited = new Promise<AppExit>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    waiters.forEach((notify) => notify());
  });

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 45_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          finish(
            new Error(`no matching log line within ${timeoutMs}ms; stdout:\n${stdout}\nstderr:\n${stderr}`),
          ),
        timeoutMs,
      );
      const finish = (error?: Error, line?: LogLine) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve(line as LogLine);
      };
      const check = () => {
        const line = logs.find(predicate);
        if (line) finish(undefined, line);
        else if (hasExited)
          finish(
            new Error(`process exited before a matching log line; stdout:\n${stdout}\nstderr:\n${stderr}`),
          );
      };
      waiters.add(check);
      check();
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) => {
    if (!hasExited) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  };

  return { child, logs, exited, stdout: () => stdout, stderr: () => stderr, waitForLog, stop };
}

/** Runs an entry point to completion, e.g. for `--help`. */
export async function runTsApp(
  mainPath: string,
  args: readonly string[],
  options: SpawnTsAppOptions = {},
): Promise<AppExit & { stdout: string; stderr: string }> {
  const app = spawnTsApp(mainPath, args, options);
  const exit = await app.exited;
  return { ...exit, stdout: app.stdout(), stderr: app.stderr() };
}
