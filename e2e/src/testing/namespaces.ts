import { randomBytes } from 'node:crypto';
import { k8s, kubeConfig } from './kube';

/** Creates a namespace with a random suffix; resolves with its name. */
export async function createTestNamespace(prefix = 'e2e'): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels: { 'keda-ts.dev/e2e': 'true' } } } });
  return name;
}

export async function deleteTestNamespace(name: string): Promise<void> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  try {
    await core.deleteNamespace({ name });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}

/**
 * A fresh namespace for the calling test file: created in beforeAll, deleted in afterAll.
 * Read `.name` inside tests (it is set once beforeAll ran).
 */
export function useTestNamespace(prefix = 'e2e'): { readonly name: string } {
  let name: string | undefined;
  beforeAll(async () => {
    name = await createTestNamespace(prefix);
  });
  afterAll(async () => {
    if (name) await deleteTestNamespace(name);
  });
  return {
    get name(): string {
      if (!name) throw new Error('the test namespace exists only inside tests (after beforeAll)');
      return name;
    },
  };
}
