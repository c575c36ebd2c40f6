/**
 * The API's documentation: `GET /openapi.json`, an OpenAPI 3.1 document generated from the route
 * schemas (so it cannot drift from what the server validates and serialises), and a page for
 * people at `/docs` (Swagger UI, served from its npm package; nothing is fetched from a CDN).
 * Registered before any route, so every route of every scope is seen.
 */
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ErrorBody } from './native/schemas.ts';

/** The native error body, as a documented response (without its $id, which may appear once). */
function errorResponse(description: string) {
  const { $id: _id, ...body } = ErrorBody as typeof ErrorBody & { $id?: string };
  return { ...body, description };
}

/** Refusals any route may answer with, besides those its own schema lists. */
const COMMON_RESPONSES = {
  429: errorResponse('RATE_LIMITED: this key (or, without one, this address) made too many requests; see Retry-After'),
};
const KEYED_RESPONSES = {
  401: errorResponse('UNAUTHORIZED: no key, or a key that is unknown or revoked'),
  403: errorResponse("FORBIDDEN: the key's role or project does not allow this"),
};

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
    // An action served by two methods of one path (Qumulo's PUT and PATCH of a configuration)
    // keeps its name on the first and gets the method appended on the others.
    const operationIds = new Set<string>();
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
        let operationId = route.config?.operation ? operationIdOf(route.config.operation, url) : undefined;
        if (operationId && operationIds.has(operationId)) operationId = `${operationId}_${[route.method].flat()[0]}`;
        if (operationId) operationIds.add(operationId);
        return {
          url,
          schema: {
            ...schema,
            ...(operationId ? { operationId } : {}),
            ...(open ? { security: [] } : {}),
            response: { ...COMMON_RESPONSES, ...(open ? {} : KEYED_RESPONSES), ...(schema?.response as object | undefined) },
          },
        };
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
