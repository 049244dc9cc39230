import { InvalidInputError } from '../errors.ts';
import {
  type Database,
  commandOutageGuard,
  ident,
  type Queryable,
  type TransactionClient,
} from '../db/index.ts';
import { getLogger } from '../observability/index.ts';
import { entityNames, getEntity, liveRowSql } from '../soft-delete/index.ts';

/**
 * Scale of `seedDemo({ rows: N })`:
 *   customers    N
 *   orders       N      (spread over customers by a hash: some have none, some several)
 *   order_items  2N     (every order has at least one item)
 *   documents    ceil(N/2)  (one in ten has no owner)
 * so N = 50_000 gives 100k order_items and N = 100_000 gives 450k rows in all.
 */
export interface SeedOptions {
  rows: number;
  /** Fraction (0..1) of rows written the legacy way: is_deleted = true, deleted_at NULL. Default 0. */
  legacyDeletedFraction?: number;
  onProgress?: (e: SeedProgress) => void;
  /** Aborted: the seed stops before its next chunk and rolls back, throwing the signal's reason. */
  signal?: AbortSignal;
  /**
   * How long the seed waits out an unreachable database (a restart) before it fails; it then runs
   * again whole, as it was rolled back. 0 (the default): it fails at once.
   */
  outageBudgetMs?: number;
}

export interface SeedProgress {
  table: string;
  /** Rows inserted so far, all tables together. */
  done: number;
  total: number;
}

export interface SeedCounts {
  customers: number;
  orders: number;
  order_items: number;
  documents: number;
}

const MAX_SEED_ROWS = 10_000_000;
const CHUNK = 50_000;

/** Stable pseudo-random non-negative int from an int8 (portable: hashint8 is in every PostgreSQL). */
const hash = (expr: string) => `(hashint8(${expr})::bigint & 2147483647)`;

interface Plan {
  table: keyof SeedCounts;
  count: number;
  /** SQL inserting rows g = $1 .. $2; $3 = this table's id base, $4 = legacy permille, $5 = N, $6 = parent base. */
  sql: string;
  /** Base id of the referenced table ($6), if the statement uses $5/$6. */
  parent?: keyof SeedCounts;
}

const LEGACY = (salt: number) => `(${hash(`g * 7 + ${salt}`)} % 1000) < $4`;
const CREATED = `now() - ((g * 37) % 730) * interval '1 day' - (g % 86400) * interval '1 second'`;
const COMMON_COLS = 'created_at, updated_at, is_deleted';
const commonVals = (salt: number) =>
  `${CREATED}, CASE WHEN ${LEGACY(salt)} THEN now() - (g % 300) * interval '1 day' ELSE now() END, ${LEGACY(salt)}`;

function plans(n: number): Plan[] {
  return [
    {
      table: 'customers',
      count: n,
      sql: `INSERT INTO customers (id, email, name, plan, country, ${COMMON_COLS})
        SELECT $3::bigint + g, 'customer' || ($3::bigint + g) || '@example.com', 'Customer ' || ($3::bigint + g),
          (ARRAY['free','pro','team','enterprise'])[1 + g % 4],
          (ARRAY['DE','FR','US','GB','NL','ES','IT','SE'])[1 + g % 8], ${commonVals(1)}
        FROM generate_series($1::bigint, $2::bigint) AS g`,
    },
    {
      table: 'orders',
      count: n,
      sql: `INSERT INTO orders (id, customer_id, status, total_cents, ${COMMON_COLS})
        SELECT $3::bigint + g, $6::bigint + 1 + ${hash('g')} % $5::bigint,
          (ARRAY['placed','paid','shipped','delivered','cancelled'])[1 + g % 5], 1000 + (g * 13) % 50000,
          ${commonVals(2)}
        FROM generate_series($1::bigint, $2::bigint) AS g`,
      parent: 'customers',
    },
    {
      table: 'order_items',
      count: 2 * n,
      sql: `INSERT INTO order_items (id, order_id, sku, quantity, unit_price_cents, ${COMMON_COLS})
        SELECT $3::bigint + g,
          $6::bigint + 1 + CASE WHEN g <= $5::bigint THEN g - 1 ELSE ${hash('-g')} % $5::bigint END,
          'SKU-' || lpad((g % 5000)::text, 5, '0'), 1 + g % 4, 100 + (g * 7) % 9900, ${commonVals(3)}
        FROM generate_series($1::bigint, $2::bigint) AS g`,
      parent: 'orders',
    },
    {
      table: 'documents',
      count: Math.ceil(n / 2),
      sql: `INSERT INTO documents (id, owner_customer_id, title, body, ${COMMON_COLS})
        SELECT $3::bigint + g,
          CASE WHEN g % 10 = 0 THEN NULL ELSE $6::bigint + 1 + ${hash('g + 11')} % $5::bigint END,
          'Document ' || ($3::bigint + g), 'Seeded document body ' || g, ${commonVals(4)}
        FROM generate_series($1::bigint, $2::bigint) AS g`,
      parent: 'customers',
    },
  ];
}

/** Highest id ever used: archived rows keep their ids, so a reused id would collide on archive. */
async function maxId(tx: TransactionClient, entity: string): Promise<number> {
  const { table, archiveTable } = getEntity(entity);
  const res = await tx.query<{ m: string }>(
    `SELECT greatest((SELECT coalesce(max(id), 0) FROM ${ident(table)}),
                     (SELECT coalesce(max(id), 0) FROM ${ident(archiveTable)}))::text AS m`,
  );
  return Number(res.rows[0]?.m ?? 0);
}

/** The rows a seed of scale `rows` inserts, all tables together. */
export function seedRowCount(rows: number): number {
  return plans(rows).reduce((s, p) => s + p.count, 0);
}

/**
 * Fills the demo domain with set-based INSERT ... SELECT generate_series, in chunks so a progress bar
 * moves. Ids are explicit (continuing after the current maximum) so children can reference parents
 * without a lookup; the tables are locked against other writers for the duration and the identity
 * sequences are moved past the new ids at the end. One transaction: all or nothing.
 */
export async function seedDemo(db: Database, opts: SeedOptions): Promise<SeedCounts> {
  const n = opts.rows;
  if (!Number.isInteger(n) || n <= 0 || n > MAX_SEED_ROWS) {
    throw new InvalidInputError(
      'invalid_rows',
      `rows must be an integer between 1 and ${MAX_SEED_ROWS}, got ${n}`,
    );
  }
  const fraction = opts.legacyDeletedFraction ?? 0;
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new InvalidInputError(
      'invalid_fraction',
      `legacyDeletedFraction must be between 0 and 1, got ${fraction}`,
    );
  }
  const permille = Math.round(fraction * 1000);
  const steps = plans(n);
  const total = seedRowCount(n);
  // The total is known before the first chunk (which takes a while on a large seed): say so at once.
  opts.onProgress?.({ table: steps[0]?.table ?? 'customers', done: 0, total });

  /** The last attempt's inserts, once all were made: its COMMIT may have landed though its answer was lost. */
  let pending: { readonly last: LastRow; readonly counts: SeedCounts } | undefined;
  const guarded = seedOutageGuard(opts.outageBudgetMs ?? 0);
  const counts = await guarded.run(async () => {
    if (pending && (await rowExists(db, pending.last))) return pending.counts;
    pending = undefined;
    const counts: SeedCounts = { customers: 0, orders: 0, order_items: 0, documents: 0 };
    await db.transaction(async (tx) => {
      await tx.exec('LOCK TABLE customers, orders, order_items, documents IN SHARE ROW EXCLUSIVE MODE');
      guarded.reached();
      const bases = {
        customers: await maxId(tx, 'customers'),
        orders: await maxId(tx, 'orders'),
        order_items: await maxId(tx, 'order_items'),
        documents: await maxId(tx, 'documents'),
      };
      let done = 0;
      for (const step of steps) {
        for (let from = 1; from <= step.count; from += CHUNK) {
          if (opts.signal) {
            // The embedded database answers without an I/O turn of the event loop: without one, a
            // signal's listener never ran between chunks, and a Ctrl-C let the whole seed commit.
            await new Promise((resolve) => setImmediate(resolve));
            opts.signal.throwIfAborted();
          }
          const to = Math.min(step.count, from + CHUNK - 1);
          const params = [from, to, bases[step.table], permille];
          if (step.parent) params.push(n, bases[step.parent]);
          const res = await tx.query(step.sql, params);
          counts[step.table] += res.rowCount;
          done += res.rowCount;
          opts.onProgress?.({ table: step.table, done, total });
        }
        await tx.query(
          `SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT max(id) FROM ${ident(step.table)}))`,
          [step.table],
        );
      }
      const last = steps.at(-1);
      if (last) pending = { last: { table: last.table, id: bases[last.table] + last.count }, counts };
    });
    return counts;
  });
  // Fresh statistics so the planner picks index scans for the batches that follow right away.
  await guarded.run(() => db.exec('ANALYZE customers, orders, order_items, documents'));
  return counts;
}

interface LastRow {
  readonly table: keyof SeedCounts;
  readonly id: number;
}

/**
 * Whether the last row an attempt inserted is there: its COMMIT landed. Ids continue after the
 * highest one under a table lock, and nothing else inserts demo rows at explicit ids.
 */
async function rowExists(db: Database, row: LastRow): Promise<boolean> {
  const res = await db.query(`SELECT 1 FROM ${ident(row.table)} WHERE id = $1`, [row.id]);
  return res.rows.length > 0;
}

const log = getLogger('demo');

interface SeedGuard {
  run<T>(step: () => Promise<T>): Promise<T>;
  /** The database answered: an outage, if there was one, is over. */
  reached(): void;
}

/**
 * Runs the seed's steps again whole after a database restart, for up to `budgetMs` (the seed is one
 * transaction, rolled back by the restart); an attempt whose COMMIT landed though its answer was
 * lost is not run twice (rowExists).
 */
function seedOutageGuard(budgetMs: number): SeedGuard {
  if (budgetMs <= 0) return { run: (step) => step(), reached: () => {} };
  const guard = commandOutageGuard(budgetMs, log, {
    waits: 'the seed was rolled back and waits to run again',
    continues: 'the seed runs again',
  });
  // The outage ends when the new attempt's first statement gets through, not when the attempt ends.
  return { run: (step) => guard.run(step), reached: () => guard.recovered() };
}

/** Every registered entity's table and archive table: what the demo counts and `resetDemoDomain` empties. */
function domainTables(): string[] {
  return entityNames().flatMap((name) => {
    const def = getEntity(name);
    return [ident(def.table), ident(def.archiveTable)];
  });
}

/** Rows in the demo domain, live and deleted, archives included (0 on a fresh database). */
export async function demoDomainRows(db: Database): Promise<number> {
  const parts = domainTables().map((t) => `(SELECT count(*) FROM ${t})`);
  const res = await db.query<{ n: string }>(`SELECT ${parts.join(' + ')} AS n`);
  return Number(res.rows[0]?.n ?? 0);
}

/**
 * Empties the demo domain (the four tables and their archives) in one statement: what `sdops demo
 * --reset` does before it seeds afresh. Every row of those tables goes, not only seeded ones.
 */
export async function resetDemoDomain(db: Database): Promise<void> {
  await db.exec(`TRUNCATE ${domainTables().join(', ')} RESTART IDENTITY`);
}

/** Below this many live documents (or without a customer with live orders) the acts need fresh rows. */
const MIN_LIVE_DOCUMENTS = 10;

/** Whether the demo data an earlier run left still has enough live rows for the acts to act on. */
export async function enoughToActOn(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ docs: string; families: boolean }>(
    `SELECT (SELECT count(*) FROM documents d WHERE ${liveRowSql('d')}) AS docs,
            EXISTS (SELECT 1 FROM customers c JOIN orders o ON o.customer_id = c.id
                     WHERE ${liveRowSql('c')} AND ${liveRowSql('o')}) AS families`,
  );
  return Number(rows[0]?.docs ?? 0) >= MIN_LIVE_DOCUMENTS && rows[0]?.families === true;
}
