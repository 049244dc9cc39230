import { stopBenchServer } from './support.ts';

/**
 * `npm run bench -- <name> [args]`: each benchmark compares the product against a baseline measured in
 * the same run (raw SQL, telemetry disabled) and prints the ratio. Names map to bench/<name>.ts, whose
 * default export runs it.
 */
const BENCHES = ['soft-delete', 'telemetry', 'migration', 'worker', 'api', 'cli'] as const;

const [name, ...args] = process.argv.slice(2);
if (!name || !BENCHES.includes(name as (typeof BENCHES)[number])) {
  process.stderr.write(`usage: npm run bench -- <${BENCHES.join('|')}> [args]\n`);
  process.exit(2);
}
try {
  const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> };
  await mod.default(args);
} finally {
  stopBenchServer();
}
