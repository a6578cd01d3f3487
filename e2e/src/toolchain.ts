import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** Paths of the locally built control-plane binaries (see e2e/toolchain/build.sh). */
export interface Toolchain {
  kubernetesVersion: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  etcd: string;
  kwok: string;
  kwokStagesDir: string;
  helm: string;
  grpcurl: string;
  /** Jars of the Kafka broker (extras). */
  kafkaLibsDir: string;
  /** The FerretDB binary, MongoDB wire protocol over SQLite (extras). */
  ferretdb: string;
  /** An OpenTelemetry Collector with the OTLP receiver and the file exporter (extras, or `otelcol` alone). */
  otelcol: string;
}

const buildScript = path.resolve(__dirname, '..', 'toolchain', 'build.sh');

/**
 * Builds the pinned binaries once (cached outside the repo by version) and returns their paths.
 * `what` is `control-plane` (etcd, kwok, kubernetes), `extras` (helm, grpcurl, FerretDB, the Kafka jars),
 * `helm` (helm only), `otelcol` (the OpenTelemetry Collector only) or `all`.
 */
export async function ensureToolchain(what: 'control-plane' | 'extras' | 'helm' | 'otelcol' | 'all' = 'control-plane'): Promise<Toolchain> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [buildScript, what], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', (err) => reject(new Error(`could not run ${buildScript}: ${err.message}`)));
    // 'close', not 'exit': the process can exit before its stdout was read to the end, and the
    // KEY=path lines were lost that way (a TypeError on an undefined path in a CI run's global setup).
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${buildScript} ${what} failed with exit code ${code}; its output above names the failed step and log`)),
    );
  });
  const vars = Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => line.match(/^([A-Z_]+)=(.*)$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  const binDir = vars['KUBE_BIN_DIR'];
  if (!binDir) throw new Error(`${buildScript} ${what} printed no KUBE_BIN_DIR=...; it printed: ${JSON.stringify(stdout.slice(-500))}`);
  return {
    kubernetesVersion: vars['KUBERNETES_VERSION'],
    kubeApiserver: path.join(binDir, 'kube-apiserver'),
    kubeControllerManager: path.join(binDir, 'kube-controller-manager'),
    kubeScheduler: path.join(binDir, 'kube-scheduler'),
    kubectl: path.join(binDir, 'kubectl'),
    etcd: vars['ETCD_BIN'],
    kwok: vars['KWOK_BIN'],
    kwokStagesDir: vars['KWOK_STAGES_DIR'],
    helm: vars['HELM_BIN'],
    grpcurl: vars['GRPCURL_BIN'],
    kafkaLibsDir: vars['KAFKA_LIBS_DIR'],
    ferretdb: vars['FERRETDB_BIN'],
    otelcol: vars['OTELCOL_BIN'],
  };
}
