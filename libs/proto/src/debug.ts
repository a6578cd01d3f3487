/** The generated ts-proto code of proto/debug/debug.proto (package `kedats.debug.v1`, keda-ts's own). */
export * from './generated/debug/debug';
