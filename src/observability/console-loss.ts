import { writeSync } from 'node:fs';
import { formatLine } from './json-lines-transport.ts';
import type { ConsoleLossListener } from './line-sink.ts';

/** What the reporter says through: the logger (logger.ts hands it getLogger('telemetry')). */
export interface LossLog {
  warn(message: string, fields: { readonly destination: string }, error: unknown): void;
  info(message: string, fields: { readonly destination: string; readonly lost_lines: number }): void;
}

/**
 * What is said when console lines cannot be written (line-sink.ts): a warning through the logger,
 * which reaches Loki over OTLP while the console is failing, and, when stdout is the one failing, the
 * same line on stderr (a container's or supervisor's log shows it beside the silence). Once it
 * works again, one line says so with the number of lines lost.
 */
export function consoleLossReporter(log: LossLog, otlpOn: () => boolean): ConsoleLossListener {
  return {
    failing(destination, error) {
      const reason = error.code ?? error.message;
      const elsewhere = otlpOn() ? ', OTLP log records still go out' : '';
      const message = `console log lines cannot be written to ${destination} (${reason}); they are lost until it works again${elsewhere}`;
      log.warn(message, { destination }, error);
      if (destination !== 'stdout') return;
      try {
        const reason = { name: error.name, message: error.message, code: error.code };
        writeSync(
          2,
          formatLine({ level: 'warn', message, component: 'telemetry', destination, error: reason }),
        );
      } catch {
        // stderr failing too (both redirected to the full disk): the OTLP record is all there is.
      }
    },
    recovered(destination, lostLines) {
      log.info(`console log lines are written to ${destination} again`, {
        destination,
        lost_lines: lostLines,
      });
    },
  };
}
