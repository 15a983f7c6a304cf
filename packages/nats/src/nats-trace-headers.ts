import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { currentTraceContext, type TraceCarrier } from '@causewayjs/core/internals';

/**
 * The active trace context (`traceparent`, `tracestate`, `baggage` with the W3C propagators,
 * or whatever the host's propagator writes) as NATS message headers; `undefined` when there
 * is none to carry.
 */
export function natsTraceHeaders(): MsgHdrs | undefined {
  const fields = Object.entries(currentTraceContext());
  if (fields.length === 0) return undefined;
  const h = headers();
  for (const [key, value] of fields) h.set(key, value);
  return h;
}

/**
 * The headers of a received message as a carrier the propagation API reads (header names in
 * lower case, as propagators ask for them); `undefined` when the message has none.
 */
export function natsTraceCarrier(h: MsgHdrs | undefined): TraceCarrier | undefined {
  if (!h) return undefined;
  const carrier: Record<string, string> = {};
  for (const key of h.keys()) carrier[key.toLowerCase()] = h.get(key);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}
