import { mkdirSync, rmdirSync } from 'node:fs';
import * as path from 'node:path';
import { readClusterInfo } from './state';

/**
 * A lock shared by the test files of one run, for cluster-wide singletons such as the APIService
 * v1beta1.external.metrics.k8s.io: files run in parallel workers, and two of them registering
 * the same APIService would take it from each other. Resolves with the release function.
 */
export async function acquireClusterLock(name: string, timeoutMs = 300_000): Promise<() => void> {
  const dir = path.join(readClusterInfo().stateDir, `lock-${name}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      return () => rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > deadline) throw new Error(`cluster lock ${name} still held after ${timeoutMs} ms (${dir})`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export const EXTERNAL_METRICS_API_LOCK = 'apiservice-external-metrics';
