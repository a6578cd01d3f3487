import {
  loadPackageDefinition,
  status,
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { loadEmbeddedPackageDefinition } from './descriptors';

/** grpc.health.v1 serving states. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: ServingStatus;
}

let healthService: ServiceDefinition | undefined;
function healthServiceDefinition(): ServiceDefinition {
  if (!healthService) {
    const pkg = loadPackageDefinition(
      loadEmbeddedPackageDefinition(['health'], { keepCase: true, enums: String, defaults: true }),
    );
    const grpc = pkg['grpc'] as unknown as { health: { v1: { Health: { service: ServiceDefinition } } } };
    healthService = grpc.health.v1.Health.service;
  }
  return healthService;
}

/**
 * The standard gRPC health service (`grpc.health.v1.Health`: Check and Watch), as
 * grpc-health-check implements it, but loaded from the embedded descriptor: grpc-health-check
 * reads its .proto from disk when imported, which a single-file bundle cannot provide.
 * The service name "" is the whole server.
 */
export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<
    string,
    Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>
  >();

  constructor(initial: Record<string, ServingStatus> = {}) {
    for (const [name, s] of Object.entries(initial)) this.statuses.set(name, s);
  }

  setStatus(service: string, s: ServingStatus): void {
    this.statuses.set(service, s);
    for (const call of this.watchers.get(service) ?? []) call.write({ status: s });
  }

  getStatus(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  addToServer(server: Pick<Server, 'addService'>): void {
    server.addService(healthServiceDefinition(), {
      Check: (
        call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        callback: sendUnaryData<HealthCheckResponse>,
      ) => {
        const s = this.statuses.get(call.request.service);
        if (s === undefined)
          callback({
            code: status.NOT_FOUND,
            details: `Health status unknown for service ${call.request.service}`,
          });
        else callback(null, { status: s });
      },
      Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const name = call.request.service;
        let set = this.watchers.get(name);
        if (!set) this.watchers.set(name, (set = new Set()));
        set.add(call);
        const remove = () => set.delete(call);
        call.on('cancelled', remove);
        call.on('close', remove);
        call.write({ status: this.statuses.get(name) ?? 'SERVICE_UNKNOWN' });
      },
    });
  }

  /** Ends all Watch streams (on shutdown, so draining does not wait for them). */
  endWatches(): void {
    for (const set of this.watchers.values()) for (const call of set) call.end();
    this.watchers.clear();
  }
}
