/**
 * The auth-params map of one trigger from its TriggerAuthentication / ClusterTriggerAuthentication
 * spec. Pure: every object it needs was read beforehand into an {@link AuthSnapshot} and the
 * {@link AuthSpecContext}. Sources are applied in KEDA's order, a later one overwriting an earlier one
 * for the same parameter: env, (filePath alone), configMapTargetRef, secretTargetRef, hashiCorpVault,
 * azureKeyVault, gcpSecretManager, awsSecretManager, boundServiceAccountToken, oauth2.
 */
import type { AuthPodIdentity, TriggerAuthenticationSpec } from '@keda-ts/api';
import { containerEnv, pickContainer, type AuthSnapshot, type EnvScope } from './container-env';
import { RefusedSecretError, TriggerAuthError, type PodTemplate, type ServiceAccountObject } from './types';

export const AWS_ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';

export interface AuthSpecContext {
  refKind: 'TriggerAuthentication' | 'ClusterTriggerAuthentication';
  refName: string;
  /** Where the spec's ConfigMaps, the oauth2 secret and service accounts live: the workload namespace for a TA, the cluster object namespace for a CTA. */
  objectNamespace: string;
  /** Where `secretTargetRef` Secrets are read: `objectNamespace`, or the cluster object namespace under KEDA_RESTRICT_SECRET_ACCESS. */
  secretNamespace: string;
  /** `env[]` reads the containers of this template, in the workload namespace. */
  podTemplate?: PodTemplate;
  envScope: EnvScope;
  /** The JSON map of `filePath`, read beforehand, or why it could not be read. */
  filePathParams?: { params: Record<string, string> } | { problem: string };
  /** Tokens of `boundServiceAccountToken`, by service account name ("" when none could be issued). */
  serviceAccountTokens?: Record<string, string>;
  /** The workload's service account (pod identity `aws`/`aws-eks` with identityOwner workload). */
  workloadServiceAccount?: ServiceAccountObject;
}

export interface AuthParamsResult {
  params: Record<string, string>;
  podIdentity: AuthPodIdentity;
  /** Things worth a log line (a Secret or key not found, an unsupported source skipped); no values. */
  warnings: string[];
}

/** Go's url.Values.Encode: keys sorted, form encoding. */
function encodeParams(params: Record<string, string>): string {
  const search = new URLSearchParams();
  for (const key of Object.keys(params).sort()) search.append(key, params[key]);
  return search.toString();
}

export function authParamsFromSpec(spec: TriggerAuthenticationSpec, ctx: AuthSpecContext, snapshot: AuthSnapshot): AuthParamsResult {
  const what = `${ctx.refKind} "${ctx.refName}"`;
  const warnings: string[] = [];
  const params: Record<string, string> = {};
  const podIdentity: AuthPodIdentity = spec.podIdentity ?? { provider: 'none' };

  const envByContainer = new Map<string, Record<string, string> | undefined>();
  for (const e of spec.env ?? []) {
    const containerName = e.containerName || pickContainer(ctx.podTemplate)?.name || '';
    if (!envByContainer.has(containerName)) {
      const container = pickContainer(ctx.podTemplate, containerName);
      let env: Record<string, string> | undefined;
      if (container) {
        try {
          env = containerEnv(container, ctx.envScope, snapshot);
        } catch (err) {
          if (err instanceof RefusedSecretError) throw err;
          warnings.push(`${what} env: ${(err as Error).message}`);
        }
      } else if (ctx.podTemplate) {
        warnings.push(`${what} env: container "${containerName}" not found in the scale target`);
      }
      envByContainer.set(containerName, env);
    }
    params[e.parameter] = envByContainer.get(containerName)?.[e.name] ?? '';
  }

  if (spec.filePath) {
    if (ctx.refKind !== 'ClusterTriggerAuthentication')
      throw new TriggerAuthError(`${what}: filePath is only supported for ClusterTriggerAuthentication`);
    const file = ctx.filePathParams ?? { problem: 'not read' };
    if ('problem' in file) throw new TriggerAuthError(`${what}: filePath "${spec.filePath}": ${file.problem}`);
    return withPodIdentity({ ...file.params }, podIdentity, ctx, warnings);
  }

  for (const ref of spec.configMapTargetRef ?? []) {
    const found = snapshot.configMap(ctx.objectNamespace, ref.name);
    if ('problem' in found) warnings.push(`${what} configMapTargetRef "${ctx.objectNamespace}/${ref.name}": ${found.problem}`);
    else if (!Object.hasOwn(found.data, ref.key))
      warnings.push(`${what} configMapTargetRef "${ctx.objectNamespace}/${ref.name}" has no key "${ref.key}"`);
    params[ref.parameter] = 'data' in found ? (found.data[ref.key] ?? '') : '';
  }

  for (const ref of spec.secretTargetRef ?? []) params[ref.parameter] = secretValue(ctx.secretNamespace, ref.name, ref.key, 'secretTargetRef');

  if (spec.hashiCorpVault)
    throw new TriggerAuthError(`${what}: hashiCorpVault is not supported by keda-ts; use secretTargetRef or configMapTargetRef`);
  if (spec.azureKeyVault)
    throw new TriggerAuthError(`${what}: azureKeyVault is not supported by keda-ts; use secretTargetRef or configMapTargetRef`);
  // KEDA logs and skips errors of these two.
  if (spec.gcpSecretManager) warnings.push(`${what}: gcpSecretManager is not supported by keda-ts; skipped`);
  if (spec.awsSecretManager) warnings.push(`${what}: awsSecretManager is not supported by keda-ts; skipped`);

  for (const ref of spec.boundServiceAccountToken ?? []) {
    const token = ctx.serviceAccountTokens?.[ref.serviceAccountName] ?? '';
    if (!token) warnings.push(`${what} boundServiceAccountToken: no token for service account "${ctx.objectNamespace}/${ref.serviceAccountName}"`);
    params[ref.parameter] = token;
  }

  if (spec.oauth2) {
    const o = spec.oauth2;
    params.oauthTokenURI = o.tokenUrl ?? '';
    params.clientID = o.clientId ?? '';
    const ref = o.clientSecret?.valueFrom?.secretKeyRef;
    params.clientSecret = ref ? secretValue(ctx.secretNamespace, ref.name, ref.key, 'oauth2.clientSecret') : '';
    if (o.scopes?.length) params.scopes = o.scopes.join(',');
    if (o.tokenUrlParams && Object.keys(o.tokenUrlParams).length) params.endpointParams = encodeParams(o.tokenUrlParams);
  }

  return withPodIdentity(params, podIdentity, ctx, warnings);

  function secretValue(namespace: string, name: string, key: string, field: string): string {
    const found = snapshot.secret(namespace, name);
    // A refused Secret fails the trigger (a missing one only logs, as in KEDA).
    if ('problem' in found && found.refused) throw new RefusedSecretError(`${what} ${field} Secret "${namespace}/${name}": ${found.problem}`);
    if ('problem' in found) {
      warnings.push(`${what} ${field} Secret "${namespace}/${name}": ${found.problem}`);
      return '';
    }
    if (!Object.hasOwn(found.data, key)) warnings.push(`${what} ${field} Secret "${namespace}/${name}" has no key "${key}"`);
    return found.data[key] ?? '';
  }
}

/** KEDA's pod-identity post-processing: AWS role ARNs become the `awsRoleArn` parameter. */
function withPodIdentity(params: Record<string, string>, podIdentity: AuthPodIdentity, ctx: AuthSpecContext, warnings: string[]): AuthParamsResult {
  const what = `${ctx.refKind} "${ctx.refName}"`;
  const saName = ctx.podTemplate?.spec?.serviceAccountName || 'default';
  const annotation = ctx.workloadServiceAccount?.metadata?.annotations?.[AWS_ROLE_ARN_ANNOTATION];
  switch (podIdentity.provider) {
    case 'aws':
      if (podIdentity.roleArn) {
        if (podIdentity.identityOwner === 'workload')
          throw new TriggerAuthError(`${what}: podIdentity.roleArn cannot be set together with podIdentity.identityOwner "workload"`);
        params.awsRoleArn = podIdentity.roleArn;
      } else if (podIdentity.identityOwner === 'workload') {
        if (!annotation)
          throw new TriggerAuthError(
            `${what}: podIdentity.identityOwner "workload" needs the annotation ${AWS_ROLE_ARN_ANNOTATION} on service account "${ctx.envScope.namespace}/${saName}"`,
          );
        params.awsRoleArn = annotation;
      }
      break;
    case 'aws-eks':
      if (annotation) params.awsRoleArn = annotation;
      break;
    case 'azure-workload':
      if (podIdentity.identityId === '') throw new TriggerAuthError(`${what}: podIdentity.identityId is set but empty`);
      break;
    default:
      break;
  }
  return { params, podIdentity, warnings };
}
