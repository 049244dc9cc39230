import { createTestDatabase } from '../../support/postgres.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';

export type Backend = 'postgres' | 'pglite';

export interface TestDb {
  db: Database;
  close(): Promise<void>;
}

/** A migrated, empty database: a fresh PostgreSQL database, or PGlite in memory. */
export async function openTestDb(backend: Backend): Promise<TestDb> {
  if (backend === 'pglite') {
    const db = await openDatabase({ memory: true });
    await migrateSchema(db);
    return { db, close: () => db.close() };
  }
  const pg = await createTestDatabase();
  const db = await openDatabase({ url: pg.url, poolSize: 4 });
  await migrateSchema(db);
  return {
    db,
    close: async () => {
      await db.close();
      await pg.drop();
    },
  };
}

const TABLES = ['customers', 'orders', 'order_items', 'documents'] as const;
const ARCHIVES = TABLES.map((t) => `${t}_archive`);

/** One md5 over every row of every domain and archive table: equal before and after = nothing changed. */
export async function checksum(db: Database): Promise<string> {
  const parts: string[] = [];
  for (const t of [...TABLES, ...ARCHIVES]) {
    const res = await db.query<{ h: string | null; n: string }>(
      `SELECT md5(string_agg(x::text, '|' ORDER BY x.id)) AS h, count(*)::text AS n FROM ${t} AS x`,
    );
    parts.push(`${t}:${res.rows[0]?.n}:${res.rows[0]?.h}`);
  }
  return parts.join(';');
}

export interface Family {
  customer: string;
  orders: string[];
  items: string[];
}

let emailSeq = 0;

/** A customer with `orders` orders of `items` items each. */
export async function makeFamily(
  db: Database,
  opts: { email?: string; orders?: number; items?: number } = {},
): Promise<Family> {
  emailSeq += 1;
  const email = opts.email ?? `family${emailSeq}-${Date.now()}@example.com`;
  const c = await db.query<{ id: string }>(
    `INSERT INTO customers (email, name) VALUES ($1, 'Test') RETURNING id::text AS id`,
    [email],
  );
  const customer = c.rows[0]!.id;
  const o = await db.query<{ id: string }>(
    `INSERT INTO orders (customer_id) SELECT $1::bigint FROM generate_series(1, $2::int) RETURNING id::text AS id`,
    [customer, opts.orders ?? 2],
  );
  const orders = o.rows.map((r) => r.id);
  const i = await db.query<{ id: string }>(
    `INSERT INTO order_items (order_id, sku) SELECT o, 'SKU' FROM unnest($1::bigint[]) AS o, generate_series(1, $2::int)
     RETURNING id::text AS id`,
    [orders, opts.items ?? 2],
  );
  return { customer, orders, items: i.rows.map((r) => r.id) };
}

export async function makeDocuments(db: Database, n: number, owner: string | null = null): Promise<string[]> {
  const res = await db.query<{ id: string }>(
    `INSERT INTO documents (owner_customer_id, title)
     SELECT $2::bigint, 'doc ' || g || ' ' || md5(random()::text) FROM generate_series(1, $1::int) AS g
     RETURNING id::text AS id`,
    [n, owner],
  );
  return res.rows.map((r) => r.id);
}

export async function deletedAt(db: Database, table: string, id: string): Promise<Date | null> {
  const res = await db.query<{ d: Date | null }>(
    `SELECT deleted_at AS d FROM ${table} WHERE id = $1::bigint`,
    [id],
  );
  return res.rows[0]?.d ?? null;
}

export async function liveCount(db: Database, table: string, ids: readonly string[]): Promise<number> {
  const res = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL`,
    [ids],
  );
  return res.rows[0]!.n;
}

/** Moves the deletion time of rows back, as if they had been deleted `days` ago. */
export async function backdate(
  db: Database,
  table: string,
  ids: readonly string[],
  days: number,
): Promise<void> {
  await db.query(
    `UPDATE ${table} SET deleted_at = deleted_at - $2::int * interval '1 day' WHERE id = ANY($1::bigint[]) AND deleted_at IS NOT NULL`,
    [ids, days],
  );
}

/** Backdates a whole family (customer, orders, items), as if it had been deleted `days` ago. */
export async function backdateFamily(db: Database, family: Family, days: number): Promise<void> {
  await backdate(db, 'customers', [family.customer], days);
  await backdate(db, 'orders', family.orders, days);
  await backdate(db, 'order_items', family.items, days);
}
