/**
 * Loading an event-source client library on first use. The controller bundle holds every scaler
 * family, and a top-level value import would load (and keep in memory) all of their clients at
 * start-up, used or not. Modules import the library's types only (`import type * as X from 'x'`,
 * erased) and reach its values through `onFirstUse(() => require('x') as typeof X)`: a `require()`
 * inside a function stays lazy both in Node and in the esbuild CommonJS bundle.
 */

/** `load` run once, on the first call of the returned function, whose later calls return its result. */
export function onFirstUse<T>(load: () => T): () => T {
  let loaded: { value: T } | undefined;
  return () => {
    loaded ??= { value: load() };
    return loaded.value;
  };
}
