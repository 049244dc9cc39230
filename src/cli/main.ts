import { exitWhenDrained } from './exit.ts';
import { run } from './run.ts';

await exitWhenDrained(await run(process.argv.slice(2)));
