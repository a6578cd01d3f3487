/**
 * A small TypeScript emitter for the keda.sh schemas. Nodes with `tsName` become exported named types
 * (declared once; every use must be identical apart from its description); everything else is inlined.
 */
import type { SourceSchema } from '../schema';
import { deepEqual } from './schema-utils';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

interface Declaration {
  schema: SourceSchema;
  code?: string;
}

export class TypeEmitter {
  private readonly declarations = new Map<string, Declaration>();

  /** Declares the named root type of a kind (and, transitively, every named node below it). */
  addRoot(schema: SourceSchema): void {
    if (!schema.tsName) throw new Error('a root schema needs a tsName');
    this.typeOf(schema);
  }

  /** All declarations, in the order in which they were first reached (parents before children). */
  render(): string {
    return [...this.declarations.values()].map((d) => d.code ?? '').join('\n\n');
  }

  private typeOf(node: SourceSchema): string {
    if (node.tsType) return node.tsType;
    if (node.tsName) {
      this.declare(node.tsName, node);
      return node.tsName;
    }
    return this.inline(node);
  }

  private declare(name: string, node: SourceSchema): void {
    const comparable = { ...node, description: undefined };
    const existing = this.declarations.get(name);
    if (existing) {
      if (!deepEqual(existing.schema, comparable)) {
        throw new Error(`tsName ${name} is used for two different schemas`);
      }
      return;
    }
    const declaration: Declaration = { schema: comparable };
    this.declarations.set(name, declaration); // reserve the slot first: parents are emitted before children
    const doc = jsDoc(node, '');
    const isInterface = node.type === 'object' && node.properties !== undefined;
    declaration.code = isInterface
      ? `${doc}export interface ${name} {\n${this.members(node)}}`
      : `${doc}export type ${name} = ${this.inline(node)};`;
  }

  private inline(node: SourceSchema): string {
    if (node['x-kubernetes-int-or-string']) return 'number | string';
    if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
    switch (node.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        const item = node.items ? this.typeOf(node.items) : 'unknown';
        return /[|&]/.test(item) ? `Array<${item}>` : `${item}[]`;
      }
      case 'object':
        if (node.properties) return `{\n${this.members(node)}}`;
        if (node.additionalProperties) return `Record<string, ${this.typeOf(node.additionalProperties)}>`;
        return 'Record<string, unknown>';
      default:
        throw new Error(`cannot derive a TypeScript type for ${JSON.stringify(node)}`);
    }
  }

  private members(node: SourceSchema): string {
    const required = new Set(node.required ?? []);
    let out = '';
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const name = IDENTIFIER.test(key) ? key : JSON.stringify(key);
      out += `${jsDoc(child, '  ')}  ${name}${required.has(key) ? '' : '?'}: ${this.typeOf(child)};\n`;
    }
    if (node['x-kubernetes-preserve-unknown-fields']) out += '  [key: string]: unknown;\n';
    return out;
  }
}

function jsDoc(node: SourceSchema, indent: string): string {
  const lines: string[] = [];
  if (node.description) lines.push(...node.description.split('\n'));
  if (node.default !== undefined)
    lines.push(`@default ${JSON.stringify(node.default)} (applied by the API server)`);
  if (node.minimum !== undefined) lines.push(`@minimum ${node.minimum}`);
  if (node.maximum !== undefined) lines.push(`@maximum ${node.maximum}`);
  if (node.minLength !== undefined) lines.push(`@minLength ${node.minLength}`);
  if (node.minItems !== undefined) lines.push(`@minItems ${node.minItems}`);
  if (node.format) lines.push(`@format ${node.format}`);
  if (lines.length === 0) return '';
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l.replace(/\*\//g, '*\\/')}`).join('\n')}\n${indent} */\n`;
}
