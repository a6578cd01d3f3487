/**
 * Where a V8 heap snapshot's memory is: self size and count per constructor (objects) or per node
 * type (strings, code, arrays, closures, ...), largest first. Used on the snapshots one-replica.ts
 * takes with `--heap-snapshots`; any `.heapsnapshot` works.
 *
 *   node --import tsx e2e/bench/heap-summary.ts <file.heapsnapshot> [--top 30] [--json]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
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

export function summarizeHeap(file: string, top = 30): { totalMiB: number; nodes: number; groups: HeapGroup[]; largest: HeapNode[] } {
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
  };
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
  }
}
