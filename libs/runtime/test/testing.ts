export {
  runTsApp,
  spawnTsApp,
  type AppExit,
  type LogLine,
  type SpawnTsAppOptions,
  type SpawnedApp,
} from './spawn-app';
