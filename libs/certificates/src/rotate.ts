import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from './issue';
import { inspectBundle, type CertificateBundle } from './inspect';
import { planRotation, type RotationPlan, type RotationPolicy } from './plan';

export interface Identity {
  /** CA subject (KEDA: CN=KEDA, O=KEDAORG). */
  caCommonName: string;
  organization: string;
  /** Subject CN of the serving certificate. */
  commonName: string;
}

export const KEDA_IDENTITY: Identity = { caCommonName: 'KEDA', organization: 'KEDAORG', commonName: 'keda-operator' };

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
  const next: CertificateBundle = {
    'ca.crt': [ca.certPem, ...kept].join(''),
    'ca.key': ca.keyPem,
    'tls.crt': current['tls.crt'],
    'tls.key': current['tls.key'],
  };
  if (plan.newLeaf) {
    const leaf = await issueCertificate({
      ca,
      commonName: identity.commonName,
      organization: identity.organization,
      hosts: policy.hosts,
      now,
      validityMs: policy.validityMs,
    });
    next['tls.crt'] = leaf.certPem;
    next['tls.key'] = leaf.keyPem;
  }
  return { plan, next };
}

/** KEDA's service names: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<domain>` for each. */
export function serviceHosts(services: readonly string[], namespace: string, clusterDomain: string): string[] {
  return services.flatMap((svc) => [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.${clusterDomain}`]);
}
