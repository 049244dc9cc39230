/**
 * Loaded by mocha before any test file (.mocharc.json `require`). In-process services log through
 * the default logger, whose console is stdout; in tests stdout is the reporter's, and one stray line
 * breaks a machine-read (JSON) report. Warnings and errors go to stderr instead; tests that read
 * the logs pass their own sink.
 */
import { configureLogging } from '../../src/observability/index.ts';

configureLogging({ console: 'stderr', consoleLevel: 'warn' });
