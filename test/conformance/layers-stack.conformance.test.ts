import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll } from 'vitest';
import { describeLayerMatrix } from './layer-matrix.js';
import { layerConfigs } from './store-layers.js';

// The event store suite, and its seams (watch, transaction), through the full production
// stack (storeStack: tracing, tenant scope, schemas, encryption, hash chain, with a projector's
// inline projections on top) on every registered adapter, and the stack's probes, outside and
// inside transaction(). Each decorator alone runs in layers.conformance.test.ts.

// Spans need a registered SDK to carry a trace context the tracing layer can stamp.
const tracerProvider = new NodeTracerProvider();
tracerProvider.register();
afterAll(() => tracerProvider.shutdown());

const { fullStack } = await layerConfigs();
await describeLayerMatrix({ fullStack });
