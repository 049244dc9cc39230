import { crashesAsOneLine } from './crash.ts';
import { exitWhenDrained } from './exit.ts';
import { processWarningsAsLogLines } from './process-warnings.ts';
import { run, wantsJson } from './run.ts';
import { exitCodeAfterOutput, tolerateClosedStdout } from './stdout-closed.ts';

const argv = process.argv.slice(2);
tolerateClosedStdout(wantsJson(argv));
crashesAsOneLine(wantsJson(argv));
processWarningsAsLogLines();
const code = await run(argv);
await exitWhenDrained(() => exitCodeAfterOutput(code));
