/** Product version shared by all keda-ts binaries; keep in step with the root package.json. */
export const KEDA_TS_VERSION = '0.1.0';
