import * as path from 'node:path';

/** The generated CRD YAML, committed under the chart (see libs/api). */
export const CRD_DIR = path.resolve(__dirname, '..', '..', 'charts', 'keda', 'crds');

export const KEDA_CRD_NAMES = [
  'scaledobjects.keda.sh',
  'scaledjobs.keda.sh',
  'triggerauthentications.keda.sh',
  'clustertriggerauthentications.keda.sh',
  'cloudeventsources.eventing.keda.sh',
  'clustercloudeventsources.eventing.keda.sh',
];

type Kubectl = (args: string[], input?: string) => Promise<string>;

/** Applies the four keda.sh CRDs and waits until the API server serves them. */
export async function installCrds(kubectl: Kubectl): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=keda-ts', '-f', CRD_DIR]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...KEDA_CRD_NAMES.map((n) => `crd/${n}`)]);
}
