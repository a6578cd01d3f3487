import type { ScaledObject } from '@keda-ts/api';
import { KubeApiError, type KubeClient, type ResolvedResource } from '@keda-ts/k8s';
import { resolveScaleTarget, ScaleTargetError } from './scale-target';

const daemonSets: ResolvedResource = { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true, scalable: false };
const so = {
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'so', namespace: 'ns' },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds' }, triggers: [] },
} as unknown as ScaledObject;

/** A client whose discovery answers DaemonSet and whose GET of the object fails with `status` (or succeeds). */
function client(status?: number): KubeClient {
  return {
    resolveKind: async () => daemonSets,
    get: async (path: string) => {
      if (status) throw new KubeApiError('GET', path, status, '', '');
      return {};
    },
  } as unknown as KubeClient;
}

describe('resolveScaleTarget of a kind without /scale', () => {
  it("says the target doesn't expose /scale when it exists", async () => {
    await expect(resolveScaleTarget(client(), so)).rejects.toThrow(new ScaleTargetError("Target resource doesn't expose /scale subresource"));
  });

  it("says the target doesn't exist when the GET answers 404", async () => {
    await expect(resolveScaleTarget(client(404), so)).rejects.toThrow(new ScaleTargetError("Target resource doesn't exist"));
  });

  it("says it doesn't expose /scale when the controller may not read that kind (the chart grants /scale only)", async () => {
    await expect(resolveScaleTarget(client(403), so)).rejects.toThrow(new ScaleTargetError("Target resource doesn't expose /scale subresource"));
  });

  it('passes other errors on', async () => {
    await expect(resolveScaleTarget(client(500), so)).rejects.toBeInstanceOf(KubeApiError);
  });
});
