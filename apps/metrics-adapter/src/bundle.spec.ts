import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

// The options of `nx run metrics-adapter:build` (project.json), bundled in memory.
const project = JSON.parse(readFileSync(join(__dirname, '..', 'project.json'), 'utf8')) as {
  targets: { build: { options: { external: string[]; esbuildOptions: Record<string, unknown> } } };
};
const { external, esbuildOptions } = project.targets.build.options;

describe('the metrics-adapter bundle', () => {
  // The controller's image ships these external packages in dist/node_modules; the adapter's has no
  // node_modules, so it must not load them (it uses the metrics client, not the server: libs/metrics-service
  // is side-effect free, so its server modules stay out). In the repo they would still resolve from the
  // workspace's node_modules, so only this check notices.
  it('does not load the packages the controller ships next to its bundle', async () => {
    expect(external).toEqual(expect.arrayContaining(['@grpc/reflection', 'grpc-health-check']));
    const result = await build({
      ...esbuildOptions,
      external,
      entryPoints: [join(__dirname, 'main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      write: false,
      logLevel: 'silent',
    });
    const text = result.outputFiles[0].text;
    expect(text).toContain('createMetricsClient');
    for (const name of external) {
      expect({ name, found: text.includes(`require("${name}")`) }).toEqual({ name, found: false });
    }
  }, 60_000);
});
