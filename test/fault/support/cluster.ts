import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { REPO_ROOT } from '../../support/cli.ts';

const run = promisify(execFile);
const SCRIPT = 'scripts/test-postgres.sh';

/**
 * A PostgreSQL cluster of the fault suite's own (scripts/test-postgres.sh): the suite restarts and
 * stops it, which the server the other test files share must never see.
 */
export interface Cluster {
  readonly url: string;
  /** URL of database `name` on this cluster. */
  database(name: string): string;
  restart(): Promise<void>;
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  destroy(): Promise<void>;
}

async function script(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [SCRIPT, ...args], { cwd: REPO_ROOT, timeout: 120_000 });
  return stdout;
}

export async function startCluster(): Promise<Cluster> {
  const out = await script('start');
  const url = /SDOPS_TEST_PG_URL=(\S+)/.exec(out)?.[1];
  const dir = /SDOPS_TEST_PG_DIR=(\S+)/.exec(out)?.[1];
  if (!url || !dir) throw new Error(`scripts/test-postgres.sh start printed no cluster: ${out}`);
  return {
    url,
    database(name) {
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    restart: () => script('restart', dir).then(() => undefined),
    stopServer: () => script('server-stop', dir).then(() => undefined),
    startServer: () => script('server-start', dir).then(() => undefined),
    destroy: () => script('stop', dir).then(() => undefined),
  };
}

/** Creates database `name` on the cluster and returns its URL. */
export async function createDatabase(cluster: Cluster, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return cluster.database(name);
}
