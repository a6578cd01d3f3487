import { API_GROUP, API_VERSION, type ClusterTriggerAuthentication, type TriggerAuthentication } from '@keda-ts/api';
import { isNotFound, type KubeClient } from '@keda-ts/k8s';
import type { AuthObjectReader, ConfigMapObject, IssuedToken, SecretObject, ServiceAccountObject } from './types';

const ns = (namespace: string) => encodeURIComponent(namespace);
const nm = (name: string) => encodeURIComponent(name);

/** A GET that answers undefined for 404 (KubeApiError messages hold the path and status, no object data). */
async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Reads with direct GETs: for one-off resolutions (a `check` command) and objects outside the informers. */
export class ApiAuthReader implements AuthObjectReader {
  constructor(private readonly client: KubeClient) {}

  triggerAuthentication(namespace: string, name: string): Promise<TriggerAuthentication | undefined> {
    return getOrUndefined(this.client, `/apis/${API_GROUP}/${API_VERSION}/namespaces/${ns(namespace)}/triggerauthentications/${nm(name)}`);
  }

  clusterTriggerAuthentication(name: string): Promise<ClusterTriggerAuthentication | undefined> {
    return getOrUndefined(this.client, `/apis/${API_GROUP}/${API_VERSION}/clustertriggerauthentications/${nm(name)}`);
  }

  secret(namespace: string, name: string): Promise<SecretObject | undefined> {
    return getOrUndefined(this.client, `/api/v1/namespaces/${ns(namespace)}/secrets/${nm(name)}`);
  }

  configMap(namespace: string, name: string): Promise<ConfigMapObject | undefined> {
    return getOrUndefined(this.client, `/api/v1/namespaces/${ns(namespace)}/configmaps/${nm(name)}`);
  }

  serviceAccount(namespace: string, name: string): Promise<ServiceAccountObject | undefined> {
    return getOrUndefined(this.client, `/api/v1/namespaces/${ns(namespace)}/serviceaccounts/${nm(name)}`);
  }

  async serviceAccountToken(namespace: string, name: string, expirationSeconds: number, audiences: readonly string[] = []): Promise<IssuedToken> {
    const answer = await this.client.create<{ status?: { token?: string; expirationTimestamp?: string } }>(
      `/api/v1/namespaces/${ns(namespace)}/serviceaccounts/${nm(name)}/token`,
      // No audiences: the API server's own (KEDA's request). With them, the token is refused by any other audience.
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds, ...(audiences.length ? { audiences: [...audiences] } : {}) } },
    );
    return { token: answer.status?.token ?? '', expirationTimestamp: answer.status?.expirationTimestamp };
  }
}
