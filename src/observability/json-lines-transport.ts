import TransportStream from 'winston-transport';
import type { LineSink } from './line-sink.ts';

/** When a record was made (ms since the epoch); it reaches winston a little later (deferred.ts). */
export const MADE_AT = Symbol('sdops.log.madeAt');

type Info = Record<string | symbol, unknown>;

/**
 * One JSON line per record, `timestamp` (when the record was made) last. Records hold only scalars
 * and the serialised error (logger.ts guarantees it), so plain JSON.stringify is enough; logform's
 * json() pays for a cycle-safe, BigInt-safe stringify on every line. Symbol keys (the OTel context)
 * are skipped by JSON itself. The record is not changed: the OTLP transport reads the same object.
 */
export function formatLine(info: Info): string {
  const madeAt = info[MADE_AT];
  const timestamp = new Date(typeof madeAt === 'number' ? madeAt : Date.now()).toISOString();
  try {
    if ('timestamp' in info) return `${JSON.stringify({ ...info, timestamp })}\n`;
    const body = JSON.stringify(info);
    return body.length > 2
      ? `${body.slice(0, -1)},"timestamp":"${timestamp}"}\n`
      : `{"timestamp":"${timestamp}"}\n`;
  } catch {
    return `${JSON.stringify({ level: info.level, message: info.message, timestamp })}\n`;
  }
}

/**
 * The console transport: formats in log() and hands the line to a sink. winston's Stream transport
 * with a format did more per line (a copy of the record for the format, a setImmediate for its
 * 'logged' event, a Writable write); what that cost per job is in docs/performance.md.
 */
export class JsonLinesTransport extends TransportStream {
  private readonly sink: LineSink;

  constructor(options: { readonly level: string }, sink: LineSink) {
    super(options);
    this.sink = sink;
  }

  override log(info: Info, callback: () => void): void {
    this.sink.writeLine(formatLine(info));
    callback();
  }
}
