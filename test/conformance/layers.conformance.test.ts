import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { sourcesMatching } from '../support/source-files.js';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLayerMatrix } from './layer-matrix.js';
import { layerConfigs, type LayerName } from './store-layers.js';

// The event store suite, and its seams (watch, transaction), through every store decorator
// alone, on every registered adapter: backendTargets × layerConfigs. (Kysely reruns its suite
// through a no-op plugin; the same idea, with decorators that really act on the suite's
// events.) Each cell also probes its layer, outside and inside transaction(). The full stack
// runs in layers-stack.conformance.test.ts (a file of its own, so the two share the forks).

// Spans need a registered SDK to carry a trace context the tracing layer can stamp.
const tracerProvider = new NodeTracerProvider();
tracerProvider.register();
afterAll(() => tracerProvider.shutdown());

const { fullStack: _fullStack, ...singleLayers } = await layerConfigs();
await describeLayerMatrix(singleLayers);

// Every store decorator in src is a layer of the matrix: `LayerName` follows storeStack's
// layers (a new one without a configuration does not compile), and this finds any other
// class extending the forwarding base.
describe('store decorators', () => {
  const decorators: Record<LayerName, string> = {
    schemas: 'packages/core/src/schema/with-schemas.ts',
    encryption: 'packages/core/src/security/encrypted-event-store.ts',
    integrity: 'packages/core/src/security/integrity-event-store.ts',
    tenant: 'packages/core/src/security/tenant-scoped-store.ts',
    tracing: 'packages/core/src/observability/instrument-event-store.ts',
    inlineProjections: 'packages/core/src/projections/inline-projections.ts',
  };
  it('every class extending ForwardingEventStore runs the suites as a layer', () => {
    // The testing package's probes (counting what a suite reads) are not layers users stack.
    const found = sourcesMatching(
      /^(?:export )?class [^{]*?\bextends ForwardingEventStore\b/m,
    ).filter((file) => !file.startsWith('packages/testing/'));
    expect(found).toEqual(Object.values(decorators).sort());
  });
});
