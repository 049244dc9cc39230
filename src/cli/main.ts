import { exitWhenDrained } from './exit.ts';
import { processWarningsAsLogLines } from './process-warnings.ts';
import { run, tolerateClosedStdout } from './run.ts';

tolerateClosedStdout();
processWarningsAsLogLines();
await exitWhenDrained(await run(process.argv.slice(2)));
