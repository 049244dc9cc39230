export { buildProgram } from './program.ts';
export { run, exitCodeFor, EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT } from './run.ts';
