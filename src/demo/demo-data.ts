import type { Database } from '../db/index.ts';
import {
  demoDomainRows,
  enoughToActOn,
  resetDemoDomain,
  type SeedCounts,
  type SeedProgress,
  seedDemo,
  seedRowCount,
} from './seed.ts';

/**
 * How many seeds' worth of rows a demo loop lets its tables hold before a top-up empties them
 * first. A run uses up about half the live documents and little else, so every dozen runs or so a
 * loop seeds the whole domain again: `sdops demo --loop` (compose's traffic) grew the tables without
 * end (a probe: 1.7 GB and 1.9 million rows in 10 minutes at `--pause-ms 500`).
 */
const LOOP_BOUND_SEEDS = 3;

export interface DemoDataOptions {
  /** The seed scale (customers) of a top-up. */
  readonly rows: number;
  /** Empty the demo tables first (`--reset`). */
  readonly reset: boolean;
  /** A loop: a top-up of tables holding over LOOP_BOUND_SEEDS seeds' worth empties them first. */
  readonly bounded: boolean;
  readonly onProgress?: (e: SeedProgress) => void;
}

export interface DemoData {
  /** Rows this run seeded; undefined when it reused the data already there. */
  readonly seeded: SeedCounts | undefined;
  /** Demo-domain rows found (after any emptying), 0 on a fresh database. */
  readonly existing: number;
  /** Rows emptied before the run, and why: `--reset`, or a loop's bound. */
  readonly emptied?: { readonly rows: number; readonly by: 'reset' | 'bound'; readonly bound: number };
}

/**
 * The data a demo run acts on. A run does not pile another seed on top of the last one: it seeds a
 * fresh database, reuses what an earlier run left (topping it up only when too little is left to act
 * on), and with `reset` empties the demo tables first; a loop also keeps them under its bound.
 */
export async function prepareDemoData(db: Database, opts: DemoDataOptions): Promise<DemoData> {
  const existing = await demoDomainRows(db);
  const bound = LOOP_BOUND_SEEDS * seedRowCount(opts.rows);
  if (opts.reset && existing > 0) {
    await resetDemoDomain(db);
    return { ...(await seed(db, opts, 0)), emptied: { rows: existing, by: 'reset', bound } };
  }
  if (existing > 0 && (await enoughToActOn(db))) return { seeded: undefined, existing };
  if (opts.bounded && existing > bound) {
    await resetDemoDomain(db);
    return { ...(await seed(db, opts, 0)), emptied: { rows: existing, by: 'bound', bound } };
  }
  return seed(db, opts, existing);
}

async function seed(db: Database, opts: DemoDataOptions, existing: number): Promise<DemoData> {
  const seeded = await seedDemo(db, {
    rows: opts.rows,
    legacyDeletedFraction: 0.05,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  return { seeded, existing };
}
