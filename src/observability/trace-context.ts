import { context, isSpanContextValid, ROOT_CONTEXT, type SpanContext, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** W3C trace context as a plain object, so a job row or a run record can carry it as JSON. */
export interface TraceCarrier {
  readonly traceparent: string;
  readonly tracestate?: string;
}

const propagator = new W3CTraceContextPropagator();

type Carrier = Record<string, string>;
const carrierGetter = {
  get: (carrier: Carrier, key: string) => carrier[key],
  keys: (carrier: Carrier) => Object.keys(carrier),
};
const carrierSetter = {
  set: (carrier: Carrier, key: string, value: string) => {
    carrier[key] = value;
  },
};

/** The active span's context as a carrier; undefined when there is no (sampled or not) span. */
export function captureTraceContext(): TraceCarrier | undefined {
  const carrier: Carrier = {};
  propagator.inject(context.active(), carrier, carrierSetter);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/** Parses a carrier (possibly from untrusted JSON); undefined when it is not valid W3C context. */
export function spanContextFromCarrier(carrier: TraceCarrier | undefined): SpanContext | undefined {
  if (!carrier || typeof carrier.traceparent !== 'string') return undefined;
  const plain: Carrier = { traceparent: carrier.traceparent };
  if (typeof carrier.tracestate === 'string') plain.tracestate = carrier.tracestate;
  const spanContext = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, plain, carrierGetter));
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}
