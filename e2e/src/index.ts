export * from './control-plane';
export * from './toolchain';
export * from './pki';
export * from './crds';
export { freePort, ManagedProcess, waitHealthy, probeOnce, reapStaleControlPlanes } from './processes';
