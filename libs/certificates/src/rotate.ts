import { KEDA_ORGANIZATION, LEAF_FILES } from './components';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from './issue';
import { inspectBundle, type CertificateBundle } from './inspect';
import { planRotation, type RotationPlan, type RotationPolicy } from './plan';

export interface Identity {
  /** CA subject (KEDA: CN=KEDA, O=KEDAORG). */
  caCommonName: string;
  /** Subject O of the CA and of every leaf. */
  organization: string;
}

export const KEDA_IDENTITY: Identity = { caCommonName: 'KEDA', organization: KEDA_ORGANIZATION };

export interface Rotation {
  plan: RotationPlan;
  /** The new Secret contents, or undefined when nothing changes. */
  next?: CertificateBundle;
}

/** Decides and, when due, issues: the new contents of the certificate Secret. */
export async function rotate(
  current: CertificateBundle,
  now: Date,
  policy: RotationPolicy,
  identity: Identity = KEDA_IDENTITY,
): Promise<Rotation> {
  const state = inspectBundle(current);
  const plan = planRotation(state, now, policy);
  if (plan.reasons.length === 0) return { plan };

  let ca: CertificateAuthority;
  if (plan.newCa) {
    ca = await createCertificateAuthority({
      commonName: identity.caCommonName,
      organization: identity.organization,
      now,
      validityMs: policy.caValidityMs,
    });
  } else {
    // planRotation only keeps the CA when its key is there.
    ca = { certPem: state.signingCa!.pem, keyPem: current['ca.key']! };
  }
  const kept = plan.keepCas.map((fp) => state.bundle.find((c) => c.fingerprint === fp)!.pem);
  // Leaves not re-issued keep their keys; keys of other (unknown) names are left to the Secret.
  const next: CertificateBundle = { ...current, 'ca.crt': [ca.certPem, ...kept].join(''), 'ca.key': ca.keyPem };
  for (const name of plan.newLeaves) {
    const spec = policy.leaves.find((l) => l.name === name)!;
    const leaf = await issueCertificate({
      ca,
      commonName: spec.commonName,
      organization: identity.organization,
      hosts: spec.hosts,
      usages: spec.usages,
      now,
      validityMs: policy.validityMs,
    });
    next[LEAF_FILES[name].cert] = leaf.certPem;
    next[LEAF_FILES[name].key] = leaf.keyPem;
  }
  return { plan, next };
}

/** KEDA's service names: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<domain>` for each. */
export function serviceHosts(services: readonly string[], namespace: string, clusterDomain: string): string[] {
  return services.flatMap((svc) => [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.${clusterDomain}`]);
}
