import { runCli } from '@keda-ts/cli';

// The CLI's stderr is for its own messages. @kubernetes/client-node's watch goes through node-fetch 2,
// which calls url.parse(): Node 24 prints DEP0169 for it, a warning a CLI user cannot act on.
process.noDeprecation = true;

void runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
