import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { option } from '@keda-ts/runtime';

/** `--kubeconfig` / `KUBECONFIG`, as in controller-runtime. */
export const kubeconfigOption = option.string({
  flag: 'kubeconfig',
  env: 'KUBECONFIG',
  placeholder: '<path>',
  description:
    'Path to a kubeconfig (several joined by the OS path delimiter are merged). Empty: in-cluster config, else ~/.kube/config.',
});

/** `--kube-api-qps` / `KUBE_API_QPS`: the client-side rate limit of API requests (KEDA's default 20). */
export const kubeApiQpsOption = option.int({
  flag: 'kube-api-qps',
  env: 'KUBE_API_QPS',
  default: 20,
  min: 1,
  max: 10_000,
  description: 'Requests per second to the API server (token bucket).',
});

/** `--kube-api-burst` / `KUBE_API_BURST`: the burst above {@link kubeApiQpsOption} (KEDA's default 30). */
export const kubeApiBurstOption = option.int({
  flag: 'kube-api-burst',
  env: 'KUBE_API_BURST',
  default: 30,
  min: 1,
  max: 10_000,
  description: 'Burst of requests to the API server above --kube-api-qps.',
});

export const SERVICE_ACCOUNT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type KubeConfigSource = 'kubeconfig-file' | 'in-cluster' | 'default';

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  source: KubeConfigSource;
  /** The file(s) read, when source is `kubeconfig-file`. */
  path?: string;
}

/** Where the connection points; free of credentials, so safe to log. */
export interface KubeConfigSummary {
  source: KubeConfigSource;
  path?: string;
  context: string;
  server: string;
}

export interface LoadKubeConfigOptions {
  /** Environment used to detect running in a pod (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Detects the mounted service-account token (replaceable in tests). */
  serviceAccountTokenExists?: () => boolean;
}

/**
 * Loads credentials in controller-runtime's order: the explicit path (flag or KUBECONFIG),
 * else the pod's service account when running in a cluster, else the client's default
 * lookup (~/.kube/config). Throws with the path and cause when a file is unusable.
 */
export function loadKubeConfig(
  kubeconfigPath: string | undefined,
  options: LoadKubeConfigOptions = {},
): LoadedKubeConfig {
  const { env = process.env, serviceAccountTokenExists = () => existsSync(SERVICE_ACCOUNT_TOKEN_PATH) } =
    options;
  const kubeConfig = new KubeConfig();
  let loaded: LoadedKubeConfig;
  if (kubeconfigPath) {
    const files = kubeconfigPath.split(delimiter).filter((file) => file !== '');
    files.forEach((file, index) => {
      const target = index === 0 ? kubeConfig : new KubeConfig();
      try {
        target.loadFromFile(file);
        // Like kubectl, the first file that sets a current context wins.
        if (target !== kubeConfig) kubeConfig.mergeConfig(target, Boolean(kubeConfig.currentContext));
      } catch (err) {
        throw new Error(
          `cannot load kubeconfig ${file}: ${(err as Partial<Error> | undefined)?.message ?? String(err)}`,
          { cause: err },
        );
      }
    });
    loaded = { kubeConfig, source: 'kubeconfig-file', path: kubeconfigPath };
  } else if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && serviceAccountTokenExists()) {
    kubeConfig.loadFromCluster();
    loaded = { kubeConfig, source: 'in-cluster' };
  } else {
    kubeConfig.loadFromDefault();
    loaded = { kubeConfig, source: 'default' };
  }
  if (!kubeConfig.getCurrentCluster()) {
    const where = loaded.path ? `kubeconfig ${loaded.path}` : `${loaded.source} kubeconfig`;
    throw new Error(
      `${where} has no cluster for current context ${JSON.stringify(kubeConfig.getCurrentContext() ?? '')}`,
    );
  }
  return loaded;
}

export function summarizeKubeConfig(loaded: LoadedKubeConfig): KubeConfigSummary {
  const cluster = loaded.kubeConfig.getCurrentCluster();
  return {
    source: loaded.source,
    path: loaded.path,
    context: loaded.kubeConfig.getCurrentContext(),
    server: cluster?.server ?? '',
  };
}
