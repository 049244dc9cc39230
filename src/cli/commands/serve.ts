import { lookup } from 'node:dns/promises';
import { createServer, isIP } from 'node:net';
import { loadConfig } from '../../config.ts';
import type { Command } from 'commander';
import { type CleanupRuntime, CleanupQueue, startCleanupRuntime } from '../../cleanup/index.ts';
import { ConflictError, InvalidInputError, type SdopsError } from '../../errors.ts';
import { MigrationRunner } from '../../migration/index.ts';
import { getLogger, packageVersion } from '../../observability/index.ts';
import { nonBlank, refuseBadWorkerSettings, wholeNumber } from '../args.ts';
import { type CliContext, type GlobalOptions, withContext } from '../context.ts';
import { startLongRunningTelemetry, untilAskedToStop } from '../long-running.ts';

interface ServeOptions {
  host: string;
  port: number;
}

/**
 * The API's queue. On PostgreSQL a client: workers are processes of their own. The embedded database
 * serves one process, so no `sdops worker` can run beside this one: serve runs the cleanup worker
 * itself there, or the cascade, restore and bulk jobs it enqueues would wait for ever.
 */
async function openQueue(ctx: CliContext): Promise<{ queue: CleanupQueue; worker?: CleanupRuntime }> {
  if (ctx.db.kind !== 'pglite') {
    return { queue: await CleanupQueue.open(ctx.db, { role: 'client', policy: ctx.config.worker.policy }) };
  }
  const worker = await startCleanupRuntime(ctx.db, { settings: ctx.config.worker, start: false });
  return { queue: worker.queue, worker };
}

/** A --host that names no address (a typo, 999.1.1.1) is bad input, found before anything opens. */
async function assertHostResolves(host: string): Promise<void> {
  if (isIP(host)) return;
  try {
    await lookup(host);
  } catch (error) {
    throw listenRefusal(error, host) ?? error;
  }
}

/**
 * A port another process holds is bad input, found before anything opens: found only when the API
 * listened, the refusal came after the embedded database had set its queue up and saved the cron
 * schedules, on an exit that says nothing was changed. The port is bound for a moment and let go;
 * one taken in between is still refused, later, by the listen itself.
 */
async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenRefusal(error, host, port) ?? error;
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/**
 * Listening failed because the host is not an address of this machine or names none, or the port
 * needs privileges: bad input (exit 2), said in one line. A port another process listens on is a
 * conflict (exit 1): that process may be one stopping, and a supervisor that retries gets the port.
 */
function listenRefusal(error: unknown, host: string, port?: number): SdopsError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new ConflictError(
      'port_in_use',
      `--port ${port} is in use on ${host}: another process listens there`,
    );
  }
  if (code === 'EACCES') {
    return new InvalidInputError(
      'invalid_usage',
      `--port ${port} on ${host} needs privileges this process does not have`,
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    return new InvalidInputError('invalid_usage', `--host ${host} is not an address of this machine`);
  }
  // EINVAL: getaddrinfo refuses a name no DNS name can be (longer than 255 characters).
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_AGAIN' || code === 'EINVAL') {
    return new InvalidInputError(
      'invalid_usage',
      `--host ${host} could not be resolved to an address (${code})`,
    );
  }
  return undefined;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP API (bearer tokens from SDOPS_API_TOKENS="admin:<t>,read:<t>")')
    .option(
      '--host <host>',
      'address to listen on (non-loopback needs SDOPS_API_TOKENS)',
      nonBlank('--host'),
      '127.0.0.1',
    )
    .option('--port <port>', 'TCP port (0 = any free port)', wholeNumber('--port', 0, 65_535), 8080)
    .action(async (opts: ServeOptions, cmd: Command) => {
      // fastify and the routes load only for this command: every other command starts faster.
      const { assertSafeBinding, parseApiTokens, startApiServer } = await import('../../api/index.ts');
      const config = loadConfig();
      const tokens = parseApiTokens(config.apiTokens);
      // Before opening anything: a host that is no address, an unsafe binding, and the settings of
      // the worker an embedded database runs in this process are refused with nothing started.
      await assertHostResolves(opts.host);
      assertSafeBinding(opts.host, tokens);
      await assertPortFree(opts.host, opts.port);
      // On PostgreSQL serve only enqueues: the worker settings are the workers' business.
      if (!config.databaseUrl) await refuseBadWorkerSettings(config.worker);
      const log = getLogger('api');
      await withContext(
        cmd.optsWithGlobals<GlobalOptions>(),
        async (ctx) => {
          // Listening for SIGTERM before anything says "listening": a signal that arrives in between
          // would otherwise end the process without closing anything.
          const stopped = untilAskedToStop(
            ctx,
            'requests still running got no answer and their transactions roll back (one waiting on a row lock once it gets the lock; a delete or restore may be sent again); queued jobs stay queued',
          );
          // The same queue policy as `sdops queue` (queues the API creates first carry SDOPS_JOB_*)
          // and the same runner options as `sdops migrate`: runs started through the API use the
          // configured batch size, failure budget, lease and retries (SDOPS_MIGRATION_*).
          // The queue setup after the schema check rides out a restart too (it ended the process).
          const { queue, worker } = await ctx.starting(() => openQueue(ctx));
          const migrations = new MigrationRunner(ctx.db, ctx.config.migration);
          const database = await ctx.starting(() => startLongRunningTelemetry(ctx));
          try {
            const api = await startApiServer({
              // Not ctx.softDelete, which waits out a database outage: a request answers 503 at once.
              db: ctx.db,
              tokens,
              queue,
              migrations,
              host: opts.host,
              port: opts.port,
              version: packageVersion(),
            }).catch((error: unknown) => {
              throw listenRefusal(error, opts.host, opts.port) ?? error;
            });
            if (tokens.length === 0) {
              log.warn(
                'no SDOPS_API_TOKENS configured: authentication is off, listening on loopback only',
                {},
              );
            }
            log.info('api listening', { url: api.url });
            process.stderr.write(`sdops api listening on ${api.url}\n`);
            if (worker) {
              log.info('embedded database: this process runs the cleanup worker too', {
                concurrency: ctx.config.worker.concurrency,
              });
              worker.worker.start();
            }
            const signal = await stopped;
            log.info('api shutting down', { signal });
            await api.close();
          } finally {
            await database.stop();
            if (worker) await worker.stop();
            else await queue.close();
          }
        },
        { role: 'api', logToStdout: true, config },
      );
    });
}
