import type { RouteSpec } from './route-context.js';

/** An OpenAPI 3.1 document (the parts Causeway fills in). */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, unknown>;
}

/**
 * The OpenAPI 3.1 document of the API, generated from the routes' own schemas (the ones
 * fastify validates requests with), so it cannot drift from what the server accepts. OpenAPI
 * 3.1 uses JSON Schema as is; fastify's `:param` paths become `{param}`.
 */
export function openApiDocument(routes: readonly RouteSpec[], version: string): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters = [
      ...parametersOf(route.params, 'path'),
      ...parametersOf(route.querystring, 'query'),
      ...parametersOf(route.headers, 'header'),
    ];
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      ...(parameters.length > 0 ? { parameters } : {}),
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.schema
              ? {
                  content: {
                    [response.contentType ?? 'application/json']: { schema: response.schema },
                  },
                }
              : {}),
          },
        ]),
      ),
      ...(route.access === 'public' ? { security: [] } : {}),
      'x-causeway-access': route.access,
    };
    if (route.body) {
      const consumes = route.consumes ?? ['application/json'];
      operation.requestBody = {
        required: true,
        content: Object.fromEntries(consumes.map((type) => [type, { schema: route.body }])),
      };
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Causeway',
      version,
      description:
        'Event store, projections, subscriptions, sagas and schemas over HTTP. Errors are `{ "error": { "code", "message", "details" } }`.',
    },
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A JWT, when the server is configured for them',
        },
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description: 'An API key, when configured',
        },
      },
    },
  };
}

function parametersOf(schema: object | undefined, location: 'path' | 'query' | 'header'): object[] {
  if (!schema) return [];
  const { properties = {}, required = [] } = schema as {
    properties?: Record<string, object>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property as { description?: string };
    return {
      name,
      in: location,
      required: location === 'path' || required.includes(name),
      ...(description ? { description } : {}),
      schema: rest,
      ...(location === 'query' && (rest as { type?: string }).type === 'array'
        ? { style: 'form', explode: true }
        : {}),
    };
  });
}
