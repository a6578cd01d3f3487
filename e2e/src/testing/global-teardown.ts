import type { LocalControlPlane } from '../control-plane';

export default async function globalTeardown(): Promise<void> {
  const cp = (globalThis as Record<string, unknown>)['__kedaControlPlane'] as LocalControlPlane | undefined;
  if (cp) await cp.stop({ keepState: process.env['KEDA_E2E_KEEP_STATE'] === '1' });
}
