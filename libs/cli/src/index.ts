export * from './exit-codes';
export * from './table';
export * from './explain';
export * from './check';
export { runCli, type CliIo } from './program';
