import { readFileSync } from 'node:fs';
import type { ClusterInfo } from '../control-plane';

/** Env var through which the global setup hands the cluster to the test workers. */
export const CLUSTER_FILE_ENV = 'KEDA_E2E_CLUSTER_FILE';

export function readClusterInfo(): ClusterInfo {
  const file = process.env[CLUSTER_FILE_ENV];
  if (!file) {
    throw new Error(`${CLUSTER_FILE_ENV} is not set: run e2e tests through e2e/jest.e2e.config.cjs (its global setup starts the cluster)`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
}
