export { describeAppContract, type AppContract } from './app-contract';
