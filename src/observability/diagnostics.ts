import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { warnConsoleOnly } from './logger.ts';
import { redactString } from './redact.ts';
import type { SdkLogLevel } from './telemetry-settings.ts';

/**
 * Problems of the telemetry machinery itself (export failures, bad metric input). They are warned
 * about once each and never thrown: telemetry must not break or slow the business operation.
 */

const MAX_KEYS = 1000;
const warned = new Set<string>();

/** Logs `message` once per `key` for the life of the process; later calls are dropped. */
export function warnOnce(key: string, message: string, fields: Record<string, string | number> = {}): void {
  if (warned.has(key)) return;
  // A flood of distinct keys (e.g. many unknown attribute values) must not grow memory either.
  if (warned.size >= MAX_KEYS) return;
  warned.add(key);
  warnConsoleOnly(message, fields);
}

/** A warning's `reason` field: the message of what was thrown. */
export function reasonOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

/** Tests only: forget which warnings were given. */
export function resetWarnings(): void {
  warned.clear();
}

interface ExportErrorState {
  endpoint: string;
  suppressed: number;
  warned: boolean;
  /** When the warning was given (ms), so a recovery re-arms it at most once a minute. */
  warnedAt: number;
  /** A refused command's session: no warning either way (silenceExportWarning). */
  silenced: boolean;
  /** The last export failed (or its connection was refused) and none has succeeded since. */
  failing: boolean;
  /** An export has succeeded in this session: a collector was there. */
  reached: boolean;
  /** Called once on the next sign of trouble (a failed export, or an unreachable collector). */
  listeners: Set<() => void>;
}

let exportState: ExportErrorState | undefined;

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return redactString(typeof code === 'string' ? `${code}: ${error.message}` : error.message);
  }
  return redactString(typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error)));
}

/**
 * Every export failure of every signal lands here, whichever path reported it (the processors call
 * the global error handler; exporters and the metric reader write to diag). One warning per
 * telemetry session; the rest are counted so shutdown can report how many were suppressed.
 */
export function reportExportError(error: unknown): void {
  const s = exportState;
  if (!s) return;
  s.failing = true;
  notifyTrouble(s);
  // A breaker still cooling down after the outage drops its batch once more although another
  // signal's export already works again: part of the outage that was warned about, not a new one.
  if (s.warned || s.silenced || describe(error).includes(DROPPED_BATCH)) {
    s.suppressed += 1;
    return;
  }
  s.warned = true;
  s.warnedAt = Date.now();
  warnConsoleOnly('telemetry export failed; the program continues, further export errors are suppressed', {
    endpoint: s.endpoint,
    reason: describe(error),
  });
}

/**
 * No warning for export failures from now on in this session (a refused command's one line stays
 * one), and none for a recovery either: marking the session warned made its last export, a success,
 * say "telemetry export works again" before the command's error line, no export having failed.
 */
export function silenceExportWarning(): void {
  if (exportState) exportState.silenced = true;
}

/** The error of a batch a circuit breaker dropped without trying (circuit.ts). */
export const DROPPED_BATCH = 'collector unreachable; batch dropped';

/** An export works again after a warning this long ago (or more): one line, and the warning re-arms. */
const REARM_AFTER_MS = 60_000;

/**
 * An export succeeded: exports are not failing (any more). After an outage that was warned about,
 * one line says export works again (with how many failures were suppressed), and the next outage
 * of a long-running process is warned about again; an export flapping within a minute stays quiet.
 */
export function noteExportSuccess(): void {
  const s = exportState;
  if (!s) return;
  s.failing = false;
  s.reached = true;
  if (!s.warned || Date.now() - s.warnedAt < REARM_AFTER_MS) return;
  warnConsoleOnly('telemetry export works again', { endpoint: s.endpoint, suppressed: s.suppressed });
  s.warned = false;
  s.suppressed = 0;
}

/** Connection errors that mean nobody is listening at the endpoint, not a hiccup on a live one. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * A socket to the collector failed. The exporters retry a refused connection with backoff until
 * their timeout (3 s) before they report anything, so this is the first, immediate sign that the
 * collector is not there: it counts as the failed export (one warning; shutdown stops waiting,
 * see telemetry.ts). Errors on a connection that was established (resets) are left to the retries.
 */
export function reportConnectionError(error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) reportExportError(error);
}

function notifyTrouble(s: ExportErrorState): void {
  const listeners = [...s.listeners];
  s.listeners.clear();
  for (const listener of listeners) listener();
}

function diagMessage(message: string, args: unknown[]): string {
  const first = args.find((a) => a instanceof Error);
  return first ? `${message} ${describe(first)}` : message;
}

const diagLogger: DiagLogger = {
  error: (message, ...args) => reportExportError(diagMessage(message, args)),
  warn: (message, ...args) => reportExportError(diagMessage(message, args)),
  info: () => {},
  debug: () => {},
  verbose: () => {},
};

/**
 * While the SDK is being built, what it says through diag is about its configuration (its own
 * reading of OTEL_* variables), not a failed export: each message is warned about once as such,
 * except those naming a variable that src/config.ts already refused (that warning was given, and
 * the SDK was handed the default). Export failures are reported again once fn returns.
 */
export function whileConfiguring<T>(
  fn: () => T,
  alreadyWarned: readonly string[],
  sdkLog: { set: boolean; level?: SdkLogLevel } = { set: false },
): T {
  const configLogger: DiagLogger = {
    ...diagLogger,
    error: (message, ...args) => configurationWarning(diagMessage(message, args), alreadyWarned),
    warn: (message, ...args) => configurationWarning(diagMessage(message, args), alreadyWarned),
  };
  // With OTEL_LOG_LEVEL set, the SDK registers a console logger of its own while it is built; over
  // a logger already registered, that printed "Current logger will overwrite..." with a stack trace
  // on every command. None is registered then; its configuration problems reach its own logger.
  if (sdkLog.set) diag.disable();
  else diag.setLogger(configLogger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  // That logger writes info and debug with console.info/debug (captured when the API loaded), to
  // stdout, which a command's output owns (`sdops list --json`): for the synchronous build, stdout
  // writes go to stderr.
  const restoreConsole = sdkLog.set ? stdoutToStderr() : () => {};
  try {
    return fn();
  } finally {
    restoreConsole();
    useDiagLogger(sdkLog.level);
  }
}

function stdoutToStderr(): () => void {
  const write = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return () => {
    process.stdout.write = write;
  };
}

const DIAG_LEVELS: Readonly<Record<SdkLogLevel, DiagLogLevel>> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/**
 * Registers the export-problem logger, and with OTEL_LOG_LEVEL also a copy of every diagnostic at
 * that level on stderr (never stdout, which a command's output owns).
 */
function useDiagLogger(level: SdkLogLevel | undefined): void {
  const wanted = level === undefined ? DiagLogLevel.NONE : DIAG_LEVELS[level];
  if (wanted === DiagLogLevel.NONE) {
    diag.setLogger(diagLogger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    return;
  }
  const toStderr =
    (name: string, at: DiagLogLevel) =>
    (message: string, ...args: unknown[]) => {
      if (at > wanted) return;
      const rest = args.map((a) => (a instanceof Error ? describe(a) : String(a))).join(' ');
      process.stderr.write(`opentelemetry ${name}: ${redactString(rest ? `${message} ${rest}` : message)}\n`);
    };
  const copy = (name: keyof DiagLogger, at: DiagLogLevel) => {
    const print = toStderr(name, at);
    const report = diagLogger[name];
    return (message: string, ...args: unknown[]) => {
      print(message, ...args);
      if (at <= DiagLogLevel.WARN) report(message, ...args);
    };
  };
  const logger: DiagLogger = {
    error: copy('error', DiagLogLevel.ERROR),
    warn: copy('warn', DiagLogLevel.WARN),
    info: copy('info', DiagLogLevel.INFO),
    debug: copy('debug', DiagLogLevel.DEBUG),
    verbose: copy('verbose', DiagLogLevel.VERBOSE),
  };
  diag.setLogger(logger, {
    logLevel: Math.max(wanted, DiagLogLevel.WARN),
    suppressOverrideMessage: true,
  });
}

function configurationWarning(message: string, alreadyWarned: readonly string[]): void {
  if (alreadyWarned.some((name) => message.includes(name))) return;
  warnOnce(`config:${message}`, 'OpenTelemetry SDK configuration problem; the program continues', {
    reason: redactString(message),
  });
}

/** Routes OTel diag (warn and above) and the global error handler into reportExportError. */
export function installExportErrorHandler(endpoint: string): void {
  exportState = {
    endpoint,
    suppressed: 0,
    warned: false,
    warnedAt: 0,
    silenced: false,
    failing: false,
    reached: false,
    listeners: new Set(),
  };
  diag.setLogger(diagLogger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  setGlobalErrorHandler((error) => reportExportError(error));
}

/**
 * True while exports fail: the last one failed or the collector refused a connection, and none has
 * succeeded since. Shutdown then stops waiting on retries.
 */
export function exportFailing(): boolean {
  return exportState?.failing === true;
}

/** True once an export has succeeded in this telemetry session: a collector was there to take it. */
export function collectorReached(): boolean {
  return exportState?.reached === true;
}

/** Calls `listener` once when exportFailing() becomes true; returns an unsubscribe function. */
export function onExportTrouble(listener: () => void): () => void {
  const s = exportState;
  if (!s) return () => {};
  s.listeners.add(listener);
  return () => s.listeners.delete(listener);
}

/** Returns how many export errors were suppressed, and stops listening. */
export function uninstallExportErrorHandler(): number {
  const suppressed = exportState?.suppressed ?? 0;
  exportState = undefined;
  diag.disable();
  setGlobalErrorHandler(() => {});
  return suppressed;
}
