/**
 * GET /openapi.json is a valid OpenAPI 3.1 document (checked by a real validator against the
 * official schema) that lists every route the app serves; /docs is the human page, served from
 * the npm package with nothing fetched from elsewhere.
 */
import { operationIdOf } from '../../src/api/api-docs.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { build } from '../helpers/app.ts';
import { ApiError, OAuthError } from '../../src/api/compat/atlas/schemas.ts';
import { QumuloErrorBody } from '../../src/api/compat/qumulo/schemas.ts';
import { ErrorBody } from '../../src/api/native/schemas.ts';

type Response = { content?: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> };
type Operation = { operationId?: string; summary?: string; tags?: string[]; security?: unknown[]; responses?: Record<string, Response> };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** A Fastify route URL in OpenAPI path form: `:id` becomes `{id}`, a wildcard `{*}`. */
function openapiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
}

describe('OpenAPI document', () => {
  it('validates as OpenAPI 3.1 and lists every route of the app with its method, summary, tags and operationId', async (t) => {
    const vt = await build(t);
    const response = await vt.call(undefined, 'GET', '/openapi.json');
    assert.equal(response.statusCode, 200);
    const document = response.json<Document>();
    assert.equal(document.openapi, '3.1.0');
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    assert.deepEqual(result, { valid: true }, JSON.stringify(result.errors, null, 2));

    const served = vt.app.routeTable.filter((r) => r.method !== 'HEAD' && r.config?.operation !== 'GetApiDocs');
    assert.ok(served.length >= 18, `${served.length} routes`);
    const operationIds = new Set<string>();
    for (const route of served) {
      const path = openapiPath(route.url);
      for (const method of [route.method].flat()) {
        const operation = document.paths[path]?.[method.toLowerCase()];
        assert.ok(operation, `${method} ${path} is in the document`);
        assert.ok(operation.summary && operation.summary.length > 5, `${method} ${path} has a summary`);
        assert.ok(operation.tags && operation.tags.length > 0, `${method} ${path} has tags`);
        assert.ok(operation.operationId!.startsWith(operationIdOf(route.config!.operation!, route.url)), `${method} ${path} is named after its action`);
        assert.ok(!operationIds.has(operation.operationId!), `operationId ${operation.operationId} is unique`);
        operationIds.add(operation.operationId!);
        assert.ok(operation.responses?.['429'], `${method} ${path} documents the rate limit`);
        if (route.config?.access === 'public') assert.deepEqual(operation.security, [], `${method} ${path} needs no key`);
        else assert.ok(operation.responses?.['401'] && operation.responses['403'], `${method} ${path} documents its refusals`);
      }
    }
    const listed = Object.values(document.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    assert.equal(listed, operationIds.size, 'and nothing that the app does not serve');
  });

  it('names operations the same in every rendering of the document, however many are built', async (t) => {
    const vt = await build(t);
    const document = (await vt.call(undefined, 'GET', '/openapi.json')).json<Document>();
    const named = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((operation) => operation.operationId));
    assert.ok(named.includes('audit_modify_syslog_config_PATCH'), 'two methods of one action are told apart');
    // Swagger UI's YAML rendering is a second, separate build of the document.
    const yaml = (await vt.call(undefined, 'GET', '/docs/yaml')).body;
    assert.deepEqual([...yaml.matchAll(/^ +operationId: (\S+)$/gm)].map((m) => m[1]), named);
  });

  it("documents each dialect's own error body for the refusals every route shares", async (t) => {
    const vt = await build(t);
    const document = (await vt.call(undefined, 'GET', '/openapi.json')).json<Document>();
    const bodyOf = (path: string, method: string, status: string) => document.paths[path]![method]!.responses![status]!.content!['application/json']!.schema;
    const expected = [
      ['/v1/projects', 'post', ErrorBody],
      ['/api/atlas/v2/groups/{groupId}/auditLog', 'get', ApiError],
      ['/api/atlas/v1.0/groups/{groupId}/auditLog', 'patch', ApiError],
      ['/v1/audit/syslog/config', 'get', QumuloErrorBody],
      ['/api/oauth/token', 'post', OAuthError],
    ] as const;
    for (const [path, method, errorBody] of expected) {
      for (const status of ['401', '429']) {
        const body = bodyOf(path, method, status);
        assert.deepEqual(Object.keys(body.properties ?? {}).sort(), Object.keys(errorBody.properties).sort(), `${method} ${path} ${status}`);
        assert.deepEqual(body.required, errorBody.required, `${method} ${path} ${status}`);
      }
    }
  });

  it('/docs serves Swagger UI from the npm package, reading this document', async (t) => {
    const vt = await build(t);
    const page = await vt.call(undefined, 'GET', '/docs');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<title>Veritrail API<\/title>/);
    for (const [, url] of page.body.matchAll(/(?:src|href)="([^"]+)"/g)) {
      assert.doesNotMatch(url!, /^(https?:)?\/\//, `${url} is served locally, not from a CDN`);
      const asset = await vt.call(undefined, 'GET', new URL(url!, 'http://x/docs').pathname);
      assert.equal(asset.statusCode, 200, url);
    }
    const initializer = await vt.call(undefined, 'GET', '/docs/static/swagger-initializer.js');
    assert.match(initializer.body, /validatorUrl: null/, 'no call to an online validator');
    assert.match(initializer.body, /resolveUrl\('\.\/json'\)/);
    const spec = await vt.call(undefined, 'GET', '/docs/json');
    assert.deepEqual(spec.json(), (await vt.call(undefined, 'GET', '/openapi.json')).json());
  });
});
