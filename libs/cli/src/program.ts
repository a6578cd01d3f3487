/**
 * The `keda-ts` command line: explain and check wired to a real cluster (kubeconfig) and the
 * controller's gRPC port. apps/cli only calls runCli.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ClusterCaches, ScaledJobValidator, ScaledObjectValidator, TriggerAuthenticationValidator } from '@keda-ts/admission';
import type { ScaledJob, ScaledObject } from '@keda-ts/api';
import { KubeApiError, KubeClient, loadKubeConfig, PodReader, resourcePath } from '@keda-ts/k8s';
import { debugProto } from '@keda-ts/proto';
import {
  ApiAuthReader,
  podTemplateOf,
  readScale,
  resolveScaleTarget,
  scalableFromScaledJob,
  scalableFromScaledObject,
  TriggerAuthResolver,
} from '@keda-ts/operator';
import { createLogger } from '@keda-ts/runtime';
import { EgressPolicy, EgressPolicyConfigError, scalers } from '@keda-ts/scalers';
import { Command, CommanderError, Option } from 'commander';
import { checkDocument, overallExitCode, parseManifests, renderCheckReport, type CheckDeps, type CheckedKind } from './check';
import { CliError, ExitCode } from './exit-codes';
import { buildExplainReport, parseObjectRef, renderExplainReport, type ExplainKind, type ExplainSources } from './explain';
import { issueOperatorCertificate, parseValidity, readClientCertDir, writeOperatorCertDir } from './operator-cert';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

const PLURAL: Record<ExplainKind, string> = { ScaledObject: 'scaledobjects', ScaledJob: 'scaledjobs' };

function connect(kubeconfig: string | undefined) {
  try {
    const loaded = loadKubeConfig(kubeconfig);
    const namespace = loaded.kubeConfig.getContextObject(loaded.kubeConfig.getCurrentContext())?.namespace || 'default';
    return { kubeConfig: loaded.kubeConfig, client: new KubeClient(loaded.kubeConfig, { qps: 50, burst: 100 }), namespace };
  } catch (err) {
    throw new CliError(`cannot load the kubeconfig: ${err instanceof Error ? err.message : String(err)}`, ExitCode.Unreachable);
  }
}

async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return undefined;
    throw new CliError(`cannot read ${path} from the cluster: ${err instanceof Error ? err.message : String(err)}`, ExitCode.Unreachable);
  }
}

function fetchTraces(address: string, certDir: string, req: debugProto.ExplainRequest): Promise<debugProto.ExplainResponse | undefined> {
  const { ca, cert, key } = readClientCertDir(certDir);
  const client = new debugProto.DecisionDebugClient(address, credentials.createSsl(ca, key, cert));
  return new Promise<debugProto.ExplainResponse | undefined>((resolve, reject) => {
    client.explain(req, new Metadata(), { deadline: Date.now() + 10_000 }, (err: ServiceError | null, res?: debugProto.ExplainResponse) => {
      client.close();
      if (!err) resolve(res);
      else if (err.code === grpcStatus.NOT_FOUND) resolve(undefined);
      else reject(new CliError(`cannot get the decisions from the controller at ${address}: ${err.details || err.message}`, ExitCode.Unreachable));
    });
  });
}

/**
 * The target's container env and each trigger's authentication, resolved from the cluster as the
 * controller does (direct GETs instead of informers). ClusterTriggerAuthentications read their
 * Secrets from KEDA_CLUSTER_OBJECT_NAMESPACE (default keda).
 */
async function resolveAuthFromCluster(
  client: KubeClient,
  env: CliIo['env'],
  kind: 'ScaledObject' | 'ScaledJob',
  obj: ScaledObject | ScaledJob,
) {
  const resolver = new TriggerAuthResolver(new ApiAuthReader(client), {
    clusterObjectNamespace: env['KEDA_CLUSTER_OBJECT_NAMESPACE'] || 'keda',
    restrictSecretAccess: env['KEDA_RESTRICT_SECRET_ACCESS'] === 'true',
  });
  if (kind === 'ScaledJob') return resolver.resolve(scalableFromScaledJob(obj as ScaledJob));
  const so = obj as ScaledObject;
  const target = await resolveScaleTarget(client, so);
  const workload = await client.get(resourcePath(target.resource, target.namespace, target.name));
  return resolver.resolve(scalableFromScaledObject(so, podTemplateOf(workload)));
}

function outputOption() {
  return new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');
}

export function createProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('keda-ts')
    .description('Explain keda-ts scaling decisions and check ScaledObjects/ScaledJobs before applying them.')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)', io.env['KUBECONFIG'])
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  program
    .command('explain')
    .description('Show the latest polls and decisions of a ScaledObject or ScaledJob, the HPA view, and what would change the outcome.')
    .argument('<kind/name>', 'scaledobject/<name> (so/<name>) or scaledjob/<name> (sj/<name>)')
    .option('-n, --namespace <namespace>', 'namespace (default: the kubeconfig context namespace)')
    .option('--controller <host:port>', 'the controller gRPC address', io.env['KEDA_TS_CONTROLLER_ADDRESS'] ?? 'keda-operator.keda.svc:9666')
    .option(
      '--cert-dir <dir>',
      'operator client certificate for the controller: ca.crt, operator.crt, operator.key (from keda-ts operator-certificate; tls.crt/tls.key also read)',
      io.env['KEDA_TS_CERT_DIR'] ?? '/certs',
    )
    .option('--limit <n>', 'polls to show', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new CliError(`--limit must be a positive whole number, got ${JSON.stringify(v)}`, ExitCode.Usage);
      return n;
    }, 5)
    .addOption(outputOption())
    .action(async (ref: string, opts: { namespace?: string; controller: string; certDir: string; limit: number; output: string }) => {
      const { kind, name } = parseObjectRef(ref);
      const cluster = connect(program.opts<{ kubeconfig?: string }>().kubeconfig);
      const namespace = opts.namespace ?? cluster.namespace;
      const sources: ExplainSources = {
        getObject: (k, ns, n) => getOrUndefined(cluster.client, `/apis/keda.sh/v1alpha1/namespaces/${ns}/${PLURAL[k]}/${n}`),
        getHpa: (ns, n) => getOrUndefined(cluster.client, `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/${n}`),
        traces: (k, ns, n, limit) => fetchTraces(opts.controller, opts.certDir, { kind: k, namespace: ns, name: n, limit }),
      };
      try {
        const report = await buildExplainReport({ kind, namespace, name }, sources, opts.limit);
        io.stdout(opts.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${renderExplainReport(report)}\n`);
      } finally {
        cluster.client.close();
      }
    });

  program
    .command('operator-certificate')
    .description(
      "Issue an operator client certificate (CN=<name>, O=keda-operators, clientAuth) from KEDA's CA: the controller's debug service (explain) accepts only these.",
    )
    .requiredOption('--name <name>', 'who holds the certificate (its subject CN)')
    .requiredOption('--out <dir>', 'directory to write ca.crt, operator.crt and operator.key into (use it as explain --cert-dir)')
    .option('--namespace <namespace>', "KEDA's namespace (where the certificate Secret is)", 'keda')
    .option('--secret <name>', 'the certificate Secret with ca.crt and ca.key', 'kedaorg-certs')
    .option('--ca-dir <dir>', 'read ca.crt and ca.key from this directory instead of the Secret')
    .option('--validity <duration>', 'lifetime, e.g. 24h or 7d', '24h')
    .action(async (opts: { name: string; out: string; namespace: string; secret: string; caDir?: string; validity: string }) => {
      const validityMs = parseValidity(opts.validity);
      let ca: { 'ca.crt'?: string; 'ca.key'?: string };
      if (opts.caDir) {
        try {
          ca = { 'ca.crt': readFileSync(join(opts.caDir, 'ca.crt'), 'utf8'), 'ca.key': readFileSync(join(opts.caDir, 'ca.key'), 'utf8') };
        } catch (err) {
          throw new CliError(`cannot read ca.crt and ca.key from --ca-dir ${opts.caDir}: ${err instanceof Error ? err.message : String(err)}`, ExitCode.Usage);
        }
      } else {
        const cluster = connect(program.opts<{ kubeconfig?: string }>().kubeconfig);
        try {
          const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/secrets/${encodeURIComponent(opts.secret)}`;
          const secret = await getOrUndefined<{ data?: Record<string, string> }>(cluster.client, path);
          if (!secret) throw new CliError(`Secret ${opts.namespace}/${opts.secret} not found`, ExitCode.Usage);
          const data = (k: string) => (secret.data?.[k] ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
          ca = { 'ca.crt': data('ca.crt'), 'ca.key': data('ca.key') };
          if (!ca['ca.key'])
            throw new CliError(
              `Secret ${opts.namespace}/${opts.secret} has no ca.key (certificates not managed by keda-ts?): issue the certificate from your CA, see docs/security.md`,
              ExitCode.Usage,
            );
        } finally {
          cluster.client.close();
        }
      }
      const pems = await issueOperatorCertificate({ name: opts.name, ca, validityMs });
      writeOperatorCertDir(opts.out, pems);
      io.stdout(`wrote ${join(opts.out, 'operator.crt')} (CN=${opts.name}, O=keda-operators, valid ${opts.validity}); use: keda-ts explain --cert-dir ${opts.out} ...\n`);
    });

  program
    .command('check')
    .description('Validate a manifest as the webhook would, query each trigger once, and print the resulting replica count. Creates nothing.')
    .argument('<file>', 'a YAML file with ScaledObjects, ScaledJobs or TriggerAuthentications (- for stdin)')
    .option('-n, --namespace <namespace>', 'namespace for objects that name none (default: the kubeconfig context namespace)')
    .option('--timeout <ms>', 'upper bound of one trigger query in ms', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new CliError(`--timeout must be a positive whole number of milliseconds, got ${JSON.stringify(v)}`, ExitCode.Usage);
      return n;
    }, 10_000)
    .addOption(outputOption())
    .action(async (file: string, opts: { namespace?: string; timeout: number; output: string }) => {
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, ExitCode.Usage);
      }
      const docs = parseManifests(text, file);
      const cluster = connect(program.opts<{ kubeconfig?: string }>().kubeconfig);
      const logger = createLogger({ component: 'keda-ts-cli', version: '0', level: 'error', destination: { write: (line: string) => io.stderr(line) } });
      const caches = new ClusterCaches({ kubeConfig: cluster.kubeConfig, logger });
      const httpTimeout = Number(io.env['KEDA_HTTP_DEFAULT_TIMEOUT'] ?? '');
      // The live query goes through the controller's egress policy: its defaults, or the same env vars.
      let egress: EgressPolicy;
      try {
        egress = EgressPolicy.fromSettings({
          denyCidrs: io.env['KEDA_TS_SCALER_EGRESS_DENY_CIDRS'],
          allowCidrs: io.env['KEDA_TS_SCALER_EGRESS_ALLOW_CIDRS'],
          allowLinkLocal: io.env['KEDA_TS_SCALER_EGRESS_ALLOW_LINK_LOCAL'] === 'true',
        });
      } catch (err) {
        if (err instanceof EgressPolicyConfigError) throw new CliError(err.message, ExitCode.Usage);
        throw err;
      }
      try {
        await caches.start();
        for (let waited = 0; !caches.synced; waited += 100) {
          if (waited > 30_000) throw new CliError('the cluster caches for the webhook checks did not sync within 30 s', ExitCode.Unreachable);
          await new Promise((r) => setTimeout(r, 100));
        }
        const soValidator = new ScaledObjectValidator(caches.lookups);
        const sjValidator = new ScaledJobValidator(undefined, caches.jobTemplates);
        const validators: Record<CheckedKind, (obj: Record<string, unknown>, ns: string) => Promise<{ allowed: boolean; message?: string; warnings?: string[] }>> = {
          ScaledObject: (obj, ns) => soValidator.validate(admissionRequest(obj, ns)),
          ScaledJob: (obj, ns) => sjValidator.validate(admissionRequest(obj, ns)),
          TriggerAuthentication: async (obj, ns) => new TriggerAuthenticationValidator('TriggerAuthentication').validate(admissionRequest(obj, ns)),
          ClusterTriggerAuthentication: async (obj, ns) =>
            new TriggerAuthenticationValidator('ClusterTriggerAuthentication').validate(admissionRequest(obj, ns)),
        };
        const deps: CheckDeps = {
          validate: (kind, obj, ns) => validators[kind](obj, ns),
          resolveAuth: (kind, obj) => resolveAuthFromCluster(cluster.client, io.env, kind, obj),
          currentReplicas: async (so) => (await readScale(cluster.client, await resolveScaleTarget(cluster.client, so))).replicas,
          registry: scalers,
          scalerContext: {
            httpTimeoutMs: Number.isInteger(httpTimeout) && httpTimeout > 0 ? httpTimeout : 3000,
            now: () => new Date(),
            kubernetes: new PodReader(cluster.client),
            egress,
          },
          timeoutMs: opts.timeout,
          now: () => new Date(),
        };
        const reports = [];
        for (const doc of docs) reports.push(await checkDocument(doc, opts.namespace ?? cluster.namespace, deps));
        io.stdout(opts.output === 'json' ? `${JSON.stringify(reports, null, 2)}\n` : `${reports.map(renderCheckReport).join('\n\n')}\n`);
        setExitCode(overallExitCode(reports));
      } finally {
        await caches.stop();
        cluster.client.close();
      }
    });
  return program;
}

function admissionRequest(obj: Record<string, unknown>, namespace: string) {
  const name = String((obj['metadata'] as { name?: unknown } | undefined)?.name ?? '');
  return { uid: 'keda-ts-check', operation: 'CREATE' as const, namespace, name, object: obj, oldObject: undefined, dryRun: true };
}

/** Runs the CLI; resolves with the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = createProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    if (err instanceof CliError) {
      io.stderr(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.Unreachable;
  }
}
