/**
 * The API's documentation: `GET /openapi.json`, an OpenAPI 3.1 document generated from the route
 * schemas (so it cannot drift from what the server validates and serialises), and a page for
 * people at `/docs` (Swagger UI, served from its npm package; nothing is fetched from a CDN).
 * Registered before any route, so every route of every scope is seen.
 */
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { ErrorBody } from './native/schemas.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The body of the route's error answers, for the document: each dialect sets its own on its
     * routes (native ErrorBody when unset), as its error handler writes it.
     */
    errorBody?: TSchema;
  }
}

/**
 * Documents `errorBody` as the error body of every route `app` registers from now on: a dialect
 * whose error handler writes its own body says so once, in its plugin.
 */
export function documentErrorBody(app: FastifyInstance, errorBody: TSchema): void {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, errorBody };
  });
}

/** An error body, as a documented response (without its $id, which may appear once). */
function errorResponse(errorBody: TSchema, description: string) {
  const { $id: _id, ...body } = errorBody as TSchema & { $id?: string };
  return { ...body, description };
}

/** Refusals any route may answer with, besides those its own schema lists, in the route's error body. */
function commonResponses(errorBody: TSchema, keyed: boolean) {
  return {
    429: errorResponse(errorBody, 'Rate limited: this key (or, without one, this address) made too many requests; see Retry-After'),
    ...(keyed
      ? {
          401: errorResponse(errorBody, 'Unauthorized: no key, or a key that is unknown or revoked'),
          403: errorResponse(errorBody, "Forbidden: the key's role or project does not allow this"),
        }
      : {}),
  };
}

/**
 * The document's operationId of a route: its self-audit action, qualified by its dialect
 * outside the native API. One action may be served by several dialects (GetAuditConfig by the
 * native API and both Atlas versions) and is recorded under one name, but OpenAPI wants each
 * operationId once.
 */
export function operationIdOf(operation: string, url: string): string {
  const dialect = /^\/api\/([a-z]+)(?:\/v(\d+))?/.exec(url);
  if (!dialect) return operation;
  const name = dialect[1]!.charAt(0).toUpperCase() + dialect[1]!.slice(1);
  return `${operation}_${name}${dialect[2] ? `V${dialect[2]}` : ''}`;
}

export const apiDocsPlugin = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Veritrail', version: '1', description: 'The native API of Veritrail, a tamper-evident audit log (spec/api.md).' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Veritrail key: vt_...' } } },
        security: [{ bearer: [] }],
      },
      // Each operation is named after its self-audit action (operationIdOf); public routes need no key; the
      // refusals every route shares are listed once here rather than in every route schema.
      transform: ({ schema, url, route }) => {
        const open = route.config?.access === 'public';
        return {
          url,
          schema: {
            ...schema,
            ...(route.config?.operation ? { operationId: operationIdOf(route.config.operation, url) } : {}),
            ...(open ? { security: [] } : {}),
            response: { ...commonResponses(route.config?.errorBody ?? ErrorBody, !open), ...(schema?.response as object | undefined) },
          },
        };
      },
      // An action served by two methods of one path (Qumulo's PUT and PATCH of a configuration)
      // keeps its name on the first and gets the method appended on the others. Counted per
      // document: /openapi.json and /docs/yaml are each built once, separately.
      transformObject: (document) => {
        if (!('openapiObject' in document)) return document.swaggerObject;
        const operationIds = new Set<string>();
        for (const operations of Object.values(document.openapiObject.paths ?? {})) {
          for (const [method, operation] of Object.entries(operations ?? {})) {
            const named = operation as { operationId?: string };
            if (named.operationId === undefined) continue;
            if (operationIds.has(named.operationId)) named.operationId = `${named.operationId}_${method.toUpperCase()}`;
            operationIds.add(named.operationId);
          }
        }
        return document.openapiObject;
      },
    });

    await app.register(async (docs) => {
      // Swagger UI's own routes (the page and its assets) are public reads like any other.
      docs.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'public', operation: 'GetApiDocs' };
      });
      await docs.register(swaggerUi, { routePrefix: '/docs', theme: { title: 'Veritrail API' }, uiConfig: { deepLinking: true, displayOperationId: true } });
    });

    app.get(
      '/openapi.json',
      { config: { access: 'public', operation: 'GetOpenApi' }, schema: { tags: ['operations'], summary: 'This OpenAPI 3.1 document, generated from the route schemas' } },
      async () => app.swagger(),
    );
  },
  { name: 'veritrail-api-docs' },
);
