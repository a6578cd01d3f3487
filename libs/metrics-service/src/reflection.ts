import type { Server } from '@grpc/grpc-js';
import type {
  AnyDefinition,
  EnumTypeDefinition,
  MessageTypeDefinition,
  PackageDefinition,
} from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { fileDescriptorProtos, loadEmbeddedPackageDefinition, type DescriptorSetName } from '@keda-ts/proto';

export const REFLECTION_SERVICE_NAMES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/** A message or enum definition (those carry `fileDescriptorProtos`), not a service. */
function isTypeDefinition(
  definition: AnyDefinition,
): definition is MessageTypeDefinition<object, object> | EnumTypeDefinition {
  return typeof definition.format === 'string';
}

/**
 * The proto-loader package definition of the named embedded sets, each message and enum carrying
 * the FileDescriptorProtos exactly as buf produced them. ReflectionService serves the
 * `fileDescriptorProtos` of a package definition; those proto-loader regenerates through protobufjs
 * lose the files' names and `dependency` lists, and then grpcurl cannot resolve e.g.
 * google.protobuf.Timestamp.
 */
function describedPackage(sets: DescriptorSetName[]): PackageDefinition {
  // One set at a time: several sets carry the same well-known files (google/protobuf/timestamp.proto).
  const pkg = Object.assign({}, ...sets.map((set) => loadEmbeddedPackageDefinition([set]))) as PackageDefinition;
  const files = fileDescriptorProtos(sets);
  const described: PackageDefinition = {};
  for (const [name, definition] of Object.entries(pkg)) {
    described[name] = isTypeDefinition(definition) ? { ...definition, fileDescriptorProtos: files } : definition;
  }
  return described;
}

/**
 * Adds gRPC server reflection (@grpc/reflection's ReflectionService: v1 and v1alpha, so grpcurl and
 * other tools can list, describe and call) for the given services, described by the embedded
 * descriptor sets. The service is registered on `server` (our grpc-js Server).
 */
export function addReflection(
  server: Pick<Server, 'addService'>,
  sets: DescriptorSetName[],
  services: string[],
): void {
  new ReflectionService(describedPackage([...sets, 'reflection']), {
    services: [...services, ...REFLECTION_SERVICE_NAMES],
  }).addToServer(server);
}
