/**
 * How a command that can stop gracefully takes Ctrl-C and SIGTERM: the first one calls `onFirst`
 * (finish the batch or run in flight), a second one calls `onSecond` (one line saying what stays)
 * and exits at once with 128 + the signal number (130, 143). Returns the function that removes
 * the handlers.
 */
export function onStopSignals(
  onFirst: (signal: NodeJS.Signals) => void,
  onSecond: (signal: NodeJS.Signals) => void = () => {},
): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      onSecond(signal);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    received = true;
    onFirst(signal);
  };
  process.on('SIGINT', handler).on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler).off('SIGTERM', handler);
  };
}
