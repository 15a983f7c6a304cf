import { PROBLEM_JSON } from './error-response.js';
import type { RouteSpec } from './route-context.js';

/** An OpenAPI 3.1 document (the parts Causeway fills in). */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, unknown>;
  /** Where the API is mounted, when under a prefix (the `causeway` plugin, a fetch handler). */
  servers?: { url: string }[];
}

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** The path prefix the API is mounted under (`/causeway`), listed as its server URL. */
  prefix?: string;
}

/**
 * The OpenAPI 3.1 document of the API, generated from the routes' own schemas (the ones
 * fastify validates requests with), so it cannot drift from what the server accepts. OpenAPI
 * 3.1 uses JSON Schema as is; fastify's `:param` paths become `{param}`.
 */
export function openApiDocument(
  routes: readonly RouteSpec[],
  version: string,
  options: OpenApiOptions = {},
): OpenApiDocument {
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
                    [response.contentType ??
                    (Number(status) >= 400 ? PROBLEM_JSON : 'application/json')]: {
                      schema: response.schema,
                    },
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
        "Event store, projections, subscriptions, sagas and schemas over HTTP. Errors are RFC 9457 problem details (`application/problem+json`: `type`, `title`, `status`, `detail`, `instance`), with the stable Causeway error `code` and the error's `details` as extension members. Reads of events (`GET /streams/{stream}`, `GET /all`, `GET /events/{position}`) and `GET /subscribe` answer CloudEvents when asked with `Accept: application/cloudevents+json` or `application/cloudevents-batch+json`.",
    },
    ...(options.prefix ? { servers: [{ url: options.prefix }] } : {}),
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
