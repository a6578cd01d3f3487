export {
  ApiServerConnection,
  connectToApiServer,
  type ApiServerConnectionOptions,
  type ConnectToApiServerOptions,
} from './api-server-connection';
export {
  SERVICE_ACCOUNT_TOKEN_PATH,
  kubeconfigOption,
  loadKubeConfig,
  summarizeKubeConfig,
  type KubeConfigSource,
  type KubeConfigSummary,
  type LoadKubeConfigOptions,
  type LoadedKubeConfig,
} from './kubeconfig';
