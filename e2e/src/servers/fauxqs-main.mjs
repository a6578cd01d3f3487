// Runs the fauxqs SQS emulator bound to 127.0.0.1 only (its own CLI listens on 0.0.0.0).
// Usage: node fauxqs-main.mjs <port>
import { buildApp } from 'fauxqs';

const port = Number(process.argv[2]);
const app = buildApp({ logger: false });
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`fauxqs listening on 127.0.0.1:${port}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => app.close().then(() => process.exit(0)));
