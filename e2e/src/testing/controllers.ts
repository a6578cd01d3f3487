import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startApps, type RunningApp } from '../local-system';
import { sleep } from '../processes';
import { waitFor } from './kube';

/** One controller process with its own log dir, and the leader election identity it campaigns with. */
export interface ControllerProcess {
  label: string;
  app: RunningApp;
  identity: string;
  logFile: string;
}

export type LogLine = Record<string, unknown> & { msg?: string; time?: string };

export function logLines(logFile: string): LogLine[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        return {};
      }
    });
}

/**
 * Starts a built controller with `args` (give it `--leader-elect` and the Lease flags) and waits
 * until it is ready and has logged its leader election identity (when it campaigns). Its log goes
 * to `<parentDir>/<label>/controller.log` (a temp dir without parentDir).
 */
export async function startController(kubeconfig: string, label: string, args: string[], parentDir?: string): Promise<ControllerProcess> {
  const dir = parentDir ? path.join(parentDir, label) : mkdtempSync(path.join(os.tmpdir(), `keda-ts-${label}-`));
  mkdirSync(dir, { recursive: true });
  const [app] = await startApps(kubeconfig, [{ name: 'controller', args }], dir);
  const logFile = app.process.logFile;
  let identity = '';
  if (args.some((a) => a.startsWith('--leader-elect') && !a.endsWith('=false'))) {
    identity = await waitFor(() => logLines(logFile).find((l) => l.msg === 'leader election: campaigning')?.['identity'] as string | undefined, {
      description: `${label} logging its leader election identity (${logFile})`,
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  }
  return { label, app, identity, logFile };
}

/** When the process logged that it became the leader (epoch ms), or undefined. */
export function becameLeaderAt(c: ControllerProcess): number[] {
  return logLines(c.logFile)
    .filter((l) => l.msg === 'became the leader')
    .map((l) => Date.parse(String(l.time)));
}

/** SIGKILL: no shutdown hook runs, the Lease is not released. Resolves once the process is gone. */
export async function killHard(c: ControllerProcess): Promise<void> {
  const pid = c.app.process.pid;
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
}

/** One write (create, update, patch, delete) as the API server's audit log recorded it. */
export interface AuditedWrite {
  at: number;
  userAgent: string;
  verb: string;
  resource: string;
  subresource?: string;
  name?: string;
  code?: number;
}

/** One line of kube-apiserver's JSON audit log (the fields the tests read). */
export interface AuditEvent {
  stage?: string;
  verb?: string;
  userAgent?: string;
  requestReceivedTimestamp?: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);

/** Writes in `namespace` from the audit log (ResponseComplete stage), oldest first. */
export function auditedWrites(auditLog: string | undefined, namespace: string): AuditedWrite[] {
  if (!auditLog || !existsSync(auditLog)) {
    throw new Error('the control plane writes no audit log: these checks need LocalControlPlane({ auditLog: true }) (the e2e global setup does that)');
  }
  const writes: AuditedWrite[] = [];
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (!line.includes(`"namespace":"${namespace}"`)) continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    if (e.stage !== 'ResponseComplete' || !WRITE_VERBS.has(e.verb ?? '') || e.objectRef?.namespace !== namespace) continue;
    writes.push({
      at: Date.parse(e.requestReceivedTimestamp ?? ''),
      userAgent: e.userAgent ?? '',
      verb: e.verb ?? '',
      resource: e.objectRef.resource ?? '',
      subresource: e.objectRef.subresource,
      name: e.objectRef.name,
      code: e.responseStatus?.code,
    });
  }
  return writes.sort((a, b) => a.at - b.at);
}

/** A metrics-api source: per-path values, a black hole (accepts, never answers) or a delay. */
export type SourceBehaviour = { value: number; delayMs?: number } | { blackHole: true };

export class MetricsSource {
  readonly behaviours = new Map<string, SourceBehaviour>();
  /** Arrival times (epoch ms) of the requests per path. */
  readonly arrivals = new Map<string, number[]>();
  private readonly server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const list = this.arrivals.get(url) ?? [];
    list.push(performance.timeOrigin + performance.now());
    this.arrivals.set(url, list);
    const b = this.behaviours.get(url);
    if (!b) {
      res.writeHead(404).end();
      return;
    }
    if ('blackHole' in b) return;
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ value: b.value }));
    };
    if (b.delayMs) setTimeout(answer, b.delayMs);
    else answer();
  });

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }

  url(p: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${p}`;
  }

  set(p: string, b: SourceBehaviour): void {
    this.behaviours.set(p, b);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
