/** The cluster itself: resource metrics and pod counts. */
import { cpuScaler, memoryScaler } from './cpu-memory';
import { kubernetesWorkloadScaler } from './kubernetes-workload';
export const kubernetesScalers = [cpuScaler, kubernetesWorkloadScaler, memoryScaler];
