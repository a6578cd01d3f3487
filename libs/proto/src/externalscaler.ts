/** The generated ts-proto code of proto/externalscaler/externalscaler.proto (package `externalscaler`). */
export * from './generated/externalscaler/externalscaler';
