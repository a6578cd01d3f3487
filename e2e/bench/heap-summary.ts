/**
 * Where a V8 heap snapshot's memory is: self size and count per constructor (objects) or per node
 * type (strings, code, arrays, closures, ...), largest first, and what the controller's long-lived
 * structures (informer caches, scalers, decision traces, ...) reach. Used on the snapshots
 * one-replica.ts takes with `--heap-snapshots`; any `.heapsnapshot` works.
 *
 *   node --import tsx e2e/bench/heap-summary.ts <file.heapsnapshot> [--top 30] [--json]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapGroup {
  group: string;
  count: number;
  selfMiB: number;
}

export interface HeapNode {
  type: string;
  name: string;
  selfMiB: number;
}

export interface HeapHolder {
  /** The class, and for an informer (`Watched`) the collection it caches. */
  holder: string;
  instances: number;
  /** Self size of everything reachable from the instances through data (see reachableFrom). */
  reachableMiB: number;
  /** The largest groups inside it. */
  top: HeapGroup[];
}

export interface HeapSummary {
  totalMiB: number;
  nodes: number;
  groups: HeapGroup[];
  largest: HeapNode[];
  holders: HeapHolder[];
}

/** The controller's long-lived structures whose memory grows with the objects it runs. */
export const CONTROLLER_HOLDERS = [
  'Watched',
  'WorkloadCache',
  'ScalersCache',
  'DecisionTraces',
  'MetricsCache',
  'StatusWriter',
  'ScaleLoops',
  'HealthLedger',
  'LastActiveLedger',
  'EventRecorder',
  'WorkQueue',
  'Registry',
];

export function summarizeHeap(file: string, top = 30, holders: readonly string[] = CONTROLLER_HOLDERS): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  const largest: { type: string; nameIndex: number; size: number }[] = [];
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]];
    const size = snap.nodes[i + sizeAt];
    total += size;
    if (size >= 256 * 1024) largest.push({ type, nameIndex: snap.nodes[i + nameAt], size });
    // Objects by constructor name; everything else (strings, code, arrays, closures...) by type.
    const key = type === 'object' ? `object ${snap.strings[snap.nodes[i + nameAt]]}` : type;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(key, g);
  }
  const mib = (b: number) => +(b / 2 ** 20).toFixed(2);
  return {
    totalMiB: mib(total),
    nodes: snap.nodes.length / width,
    groups: [...groups.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([group, g]) => ({ group, count: g.count, selfMiB: mib(g.bytes) })),
    // Single nodes of 256 KiB or more (a bundle's source text, a big array...), named by their first characters.
    largest: largest
      .sort((a, b) => b.size - a.size)
      .slice(0, top)
      .map((n) => ({ type: n.type, name: snap.strings[n.nameIndex].slice(0, 80).replace(/\s+/g, ' '), selfMiB: mib(n.size) })),
    holders: reachableFrom(snap, holders),
  };
}

/**
 * For each class in `classes`: the self size of every node reachable from its instances through
 * data, an approximation of what they retain that needs no dominator tree. The walk never follows
 * weak edges, hidden classes, prototypes, constructors, code or closures (a closure's context leads
 * to most of the program), and stops at instances of the other listed classes, so holders that
 * point at each other are not counted twice. Instances of `Watched` are told apart by the path of
 * the collection they watch.
 */
function reachableFrom(snap: Snapshot, classes: readonly string[]): HeapHolder[] {
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const nodeTypes = snap.snapshot.meta.node_types[0];
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const edgeCountAt = fields.indexOf('edge_count');
  const edgeFields = snap.snapshot.meta.edge_fields;
  const edgeWidth = edgeFields.length;
  const edgeTypes = snap.snapshot.meta.edge_types[0];
  const edgeTypeAt = edgeFields.indexOf('type');
  const edgeNameAt = edgeFields.indexOf('name_or_index');
  const edgeToAt = edgeFields.indexOf('to_node');
  const count = snap.nodes.length / width;
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0; n < count; n++) firstEdge[n + 1] = firstEdge[n] + snap.nodes[n * width + edgeCountAt] * edgeWidth;
  const skippedNodeTypes = new Set(['closure', 'code', 'object shape', 'synthetic']);
  const skippedEdgeTypes = new Set(['weak', 'shortcut']);
  const skippedEdgeNames = new Set(['map', '__proto__', 'constructor', 'prototype']);
  const typeOf = (n: number) => nodeTypes[snap.nodes[n * width + typeAt]];
  const nameOf = (n: number) => snap.strings[snap.nodes[n * width + nameAt]];
  const isInstance = (n: number, names: ReadonlySet<string>) => typeOf(n) === 'object' && names.has(nameOf(n));
  const edgesOf = function* (n: number): Generator<{ type: string; name: string; to: number }> {
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += edgeWidth) {
      const type = edgeTypes[snap.edges[e + edgeTypeAt]];
      const nameOrIndex = snap.edges[e + edgeNameAt];
      const name = type === 'element' || type === 'hidden' ? String(nameOrIndex) : snap.strings[nameOrIndex];
      yield { type, name, to: snap.edges[e + edgeToAt] / width };
    }
  };
  const property = (n: number, name: string) => {
    for (const e of edgesOf(n)) if (e.type === 'property' && e.name === name) return e.to;
    return undefined;
  };
  const all = new Set(classes);
  const byHolder = new Map<string, { instances: number; seeds: number[] }>();
  for (let n = 0; n < count; n++) {
    if (!isInstance(n, all)) continue;
    let holder = nameOf(n);
    if (holder === 'Watched') {
      const options = property(n, 'options');
      const pathNode = options === undefined ? undefined : property(options, 'path');
      if (pathNode !== undefined) holder = `Watched ${nameOf(pathNode)}`;
    }
    const h = byHolder.get(holder) ?? { instances: 0, seeds: [] };
    h.instances++;
    h.seeds.push(n);
    byHolder.set(holder, h);
  }
  const result: HeapHolder[] = [];
  for (const [holder, { instances, seeds }] of byHolder) {
    const seen = new Uint8Array(count);
    const stack = [...seeds];
    for (const s of seeds) seen[s] = 1;
    const groups = new Map<string, { count: number; bytes: number }>();
    let bytes = 0;
    while (stack.length) {
      const n = stack.pop()!;
      const size = snap.nodes[n * width + sizeAt];
      bytes += size;
      const key = typeOf(n) === 'object' ? `object ${nameOf(n)}` : typeOf(n);
      const g = groups.get(key) ?? { count: 0, bytes: 0 };
      g.count++;
      g.bytes += size;
      groups.set(key, g);
      for (const e of edgesOf(n)) {
        if (seen[e.to] || skippedEdgeTypes.has(e.type) || skippedEdgeNames.has(e.name)) continue;
        if (skippedNodeTypes.has(typeOf(e.to)) || isInstance(e.to, all)) continue;
        seen[e.to] = 1;
        stack.push(e.to);
      }
    }
    result.push({
      holder,
      instances,
      reachableMiB: +(bytes / 2 ** 20).toFixed(2),
      top: [...groups.entries()]
        .sort((a, b) => b[1].bytes - a[1].bytes)
        .slice(0, 5)
        .map(([group, g]) => ({ group, count: g.count, selfMiB: +(g.bytes / 2 ** 20).toFixed(2) })),
    });
  }
  return result.sort((a, b) => b.reachableMiB - a.reachableMiB);
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: heap-summary.ts <file.heapsnapshot> [--top N] [--json]\n');
    process.exit(2);
  }
  const topAt = process.argv.indexOf('--top');
  const summary = summarizeHeap(file, topAt >= 0 ? Number(process.argv[topAt + 1]) : 30);
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else {
    process.stdout.write(`${file}: ${summary.totalMiB} MiB in ${summary.nodes} nodes\n`);
    for (const g of summary.groups) process.stdout.write(`${g.selfMiB.toFixed(2).padStart(9)} MiB ${String(g.count).padStart(9)}  ${g.group}\n`);
    process.stdout.write('largest nodes:\n');
    for (const n of summary.largest) process.stdout.write(`${n.selfMiB.toFixed(2).padStart(9)} MiB  ${n.type} ${n.name}\n`);
    process.stdout.write('reachable from the controller\'s holders:\n');
    for (const h of summary.holders) {
      const inside = h.top.map((g) => `${g.group} ${g.selfMiB}`).join(', ');
      process.stdout.write(`${h.reachableMiB.toFixed(2).padStart(9)} MiB ${String(h.instances).padStart(5)}  ${h.holder}  (${inside})\n`);
    }
  }
}
