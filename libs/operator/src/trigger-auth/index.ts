export {
  TriggerAuthResolver,
  scalableFromScaledJob,
  scalableFromScaledObject,
  podTemplateOf,
  type TriggerAuthResolverOptions,
} from './resolver';
export { ApiAuthReader } from './api-reader';
export { authParamsFromSpec, AWS_ROLE_ARN_ANNOTATION, type AuthParamsResult, type AuthSpecContext } from './auth-params';
export { containerEnv, expandEnvValue, pickContainer, type AuthSnapshot, type EnvScope, type Lookup } from './container-env';
export {
  TriggerAuthError,
  referenceKey,
  type AuthObjectReader,
  type AuthReference,
  type ConfigMapObject,
  type EnvContainer,
  type PodTemplate,
  type ResolvedTriggerAuth,
  type ScalableForAuth,
  type SecretObject,
  type ServiceAccountObject,
} from './types';
export { AuthDependencies, dependentKey } from './dependencies';
export { InformerAuthReader, TriggerAuthWatch, UNCACHED_SECRET_TYPES, type TriggerAuthWatchOptions } from './watch';
export { TriggerAuthController, triggerAuthAction, type TriggerAuthAction } from './controller';
export { changedReference } from './watch';
