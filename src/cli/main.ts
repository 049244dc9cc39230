import { exitWhenDrained } from './exit.ts';
import { run, tolerateClosedStdout } from './run.ts';

tolerateClosedStdout();
await exitWhenDrained(await run(process.argv.slice(2)));
