import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { loadFileDescriptorSetFromBuffer, type Options, type PackageDefinition } from '@grpc/proto-loader';
import {
  DEBUG_DESCRIPTOR_SET,
  EXTERNAL_SCALER_DESCRIPTOR_SET,
  HEALTH_DESCRIPTOR_SET,
  METRICS_DESCRIPTOR_SET,
  REFLECTION_DESCRIPTOR_SET,
} from './generated/descriptors';

export type DescriptorSetName = 'metrics' | 'externalscaler' | 'debug' | 'health' | 'reflection';

const SETS: Record<DescriptorSetName, string> = {
  metrics: METRICS_DESCRIPTOR_SET,
  externalscaler: EXTERNAL_SCALER_DESCRIPTOR_SET,
  debug: DEBUG_DESCRIPTOR_SET,
  health: HEALTH_DESCRIPTOR_SET,
  reflection: REFLECTION_DESCRIPTOR_SET,
};

/** The binary FileDescriptorSet of the named protos (embedded at generate time; no file access). */
export function descriptorSet(name: DescriptorSetName): Buffer {
  return Buffer.from(SETS[name], 'base64');
}

/**
 * A proto-loader package definition of one or more embedded descriptor sets. FileDescriptorSet is
 * a single repeated field, so the encodings of several sets concatenate into one.
 */
export function loadEmbeddedPackageDefinition(
  names: DescriptorSetName[],
  options?: Options,
): PackageDefinition {
  return loadFileDescriptorSetFromBuffer(Buffer.concat(names.map(descriptorSet)), options);
}

/**
 * The FileDescriptorProto encodings inside the named sets, exactly as buf produced them (with
 * their `dependency` lists, which the descriptors proto-loader regenerates through protobufjs lack).
 */
export function fileDescriptorProtos(names: DescriptorSetName[]): Buffer[] {
  const files: Buffer[] = [];
  for (const name of names) {
    const reader = new BinaryReader(descriptorSet(name));
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 1 && wireType === WireType.LengthDelimited) files.push(Buffer.from(reader.bytes()));
      else reader.skip(wireType);
    }
  }
  return files;
}
