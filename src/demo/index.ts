/**
 * `sdops demo` and `sdops seed`: demo data and the demo's acts. Everything here takes its settings
 * as arguments (the CLI passes `loadConfig()`'s); nothing reads the environment.
 */
export { type ActRow, runMigrationAct, runWorkerAct } from './background-acts.ts';
export { type DemoData, prepareDemoData } from './demo-data.ts';
export { seedDemo } from './seed.ts';
export { runSoftDeleteAct, type Step } from './soft-delete-act.ts';
