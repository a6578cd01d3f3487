import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadKubeConfig, summarizeKubeConfig } from './kubeconfig';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));

function writeKubeconfig(name: string, server: string, currentContext = name): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: ${name}, cluster: { server: "${server}" } }]`,
      `users: [{ name: ${name}, user: { token: secret-${name} } }]`,
      `contexts: [{ name: ${name}, context: { cluster: ${name}, user: ${name} } }]`,
      `current-context: "${currentContext}"`,
    ].join('\n'),
  );
  return path;
}

describe('loadKubeConfig', () => {
  it('loads an explicit path', () => {
    const path = writeKubeconfig('one', 'https://one.example:6443');
    const loaded = loadKubeConfig(path, { env: {} });
    expect(summarizeKubeConfig(loaded)).toEqual({
      source: 'kubeconfig-file',
      path,
      context: 'one',
      server: 'https://one.example:6443',
    });
  });

  it('merges several files, the first current context winning', () => {
    const first = writeKubeconfig('first', 'https://first.example');
    const second = writeKubeconfig('second', 'https://second.example');
    const loaded = loadKubeConfig(`${first}${delimiter}${second}`, { env: {} });
    expect(loaded.kubeConfig.getContexts().map((context) => context.name)).toEqual(['first', 'second']);
    expect(summarizeKubeConfig(loaded).server).toBe('https://first.example');
  });

  it('names the file when it cannot be read', () => {
    expect(() => loadKubeConfig(join(dir, 'missing.yaml'), { env: {} })).toThrow(
      `cannot load kubeconfig ${join(dir, 'missing.yaml')}: ENOENT`,
    );
  });

  it('rejects a kubeconfig without a usable current context', () => {
    const path = writeKubeconfig('dangling', 'https://x.example', 'nope');
    expect(() => loadKubeConfig(path, { env: {} })).toThrow(
      `kubeconfig ${path} has no cluster for current context "nope"`,
    );
  });

  it('uses the in-cluster service account inside a pod', () => {
    const loaded = loadKubeConfig('', {
      env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountTokenExists: () => true,
    });
    expect(loaded.source).toBe('in-cluster');
  });

  it('does not treat a pod-like environment without a token as in-cluster', () => {
    const loaded = loadKubeConfig('', {
      env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountTokenExists: () => false,
    });
    expect(loaded.source).toBe('default');
  });
});
