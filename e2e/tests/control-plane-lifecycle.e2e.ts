import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { LocalControlPlane } from '../src/control-plane';

function liveProcessesIn(stateDir: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmd.includes(stateDir) ? [cmd] : [];
      } catch {
        return [];
      }
    });
}

describe('LocalControlPlane lifecycle', () => {
  it('stops without leaving processes or state behind, and starts again in the same run', async () => {
    const cp = new LocalControlPlane({ nodes: 1, log: () => undefined });
    for (let round = 0; round < 2; round++) {
      const info = await cp.start();
      expect(await cp.kubectl(['get', 'nodes', '-o', 'name'])).toBe('node/kwok-node-0\n');
      expect(liveProcessesIn(info.stateDir)).toHaveLength(5);
      await cp.stop();
      expect(liveProcessesIn(info.stateDir)).toEqual([]);
      expect(existsSync(info.stateDir)).toBe(false);
    }
  }, 240_000);
});
