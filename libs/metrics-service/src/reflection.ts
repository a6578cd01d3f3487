import { fromJSON, type PackageDefinition } from '@grpc/proto-loader';
import {
  loadPackageDefinition,
  type Server,
  type handleBidiStreamingCall,
  type ServerDuplexStream,
  type ServiceDefinition,
} from '@grpc/grpc-js';
// Deep imports: the package's ReflectionService.addToServer loads reflection.proto from disk,
// which a single-file bundle does not have. Its request handlers do no file access, so we
// register them ourselves with service definitions from the embedded descriptor.
import { PROTO_LOADER_OPTS } from '@grpc/reflection/build/src/implementations/common/constants';
import { ReflectionV1Implementation } from '@grpc/reflection/build/src/implementations/reflection-v1';
import { ReflectionV1AlphaImplementation } from '@grpc/reflection/build/src/implementations/reflection-v1alpha';
import { fileDescriptorProtos, type DescriptorSetName } from './descriptors';
import { REFLECTION_SERVICE_JSON } from './generated/descriptors';

interface Handler {
  handleServerReflectionRequest(message: never): unknown;
}

function register(server: Pick<Server, 'addService'>, service: ServiceDefinition, impl: Handler): void {
  const serverReflectionInfo: handleBidiStreamingCall<never, unknown> = (
    stream: ServerDuplexStream<never, unknown>,
  ) => {
    stream.on('end', () => stream.end());
    stream.on('data', (message: never) => stream.write(impl.handleServerReflectionRequest(message)));
  };
  server.addService(service, { ServerReflectionInfo: serverReflectionInfo });
}

export const REFLECTION_SERVICE_NAMES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/**
 * Adds gRPC server reflection (v1 and v1alpha, so grpcurl and other tools can list, describe and
 * call) for the given services, described by the embedded descriptor sets.
 */
export function addReflection(
  server: Pick<Server, 'addService'>,
  sets: DescriptorSetName[],
  services: string[],
): void {
  // The implementations only read `fileDescriptorProtos` of the package definition's entries. The
  // original descriptors keep their imports; proto-loader's regenerated ones drop them, and then
  // grpcurl cannot resolve e.g. google.protobuf.Timestamp.
  const described = {
    files: { fileDescriptorProtos: fileDescriptorProtos([...sets, 'reflection']) },
  } as unknown as PackageDefinition;
  const options = { services: [...services, ...REFLECTION_SERVICE_NAMES] };
  // The handlers expect camelCase fields and oneof discriminators, as proto-loader's loadSync gives.
  const pkg = loadPackageDefinition(
    fromJSON(REFLECTION_SERVICE_JSON as Parameters<typeof fromJSON>[0], PROTO_LOADER_OPTS),
  ) as unknown as {
    grpc: {
      reflection: {
        v1: { ServerReflection: { service: ServiceDefinition } };
        v1alpha: { ServerReflection: { service: ServiceDefinition } };
      };
    };
  };
  register(
    server,
    pkg.grpc.reflection.v1.ServerReflection.service,
    new ReflectionV1Implementation(described, options),
  );
  register(
    server,
    pkg.grpc.reflection.v1alpha.ServerReflection.service,
    new ReflectionV1AlphaImplementation(described, options),
  );
}
