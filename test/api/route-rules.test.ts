/**
 * The self-audit route contract (src/api/self-audit/route-rules.ts), walked over every route the
 * app registers, so routes added later (dialects, configuration APIs) cannot skip it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { isReadMethod, OPERATION_NAME, routeRuleProblems } from '../../src/api/self-audit/route-rules.ts';

/**
 * Routes that change state without a self-audit record because they append the caller's own
 * events. Adding one is a deliberate act: it must be ingest, not management.
 */
const INGEST_ROUTES = ['POST /v1/projects/:projectId/events'];

describe('route contract', () => {
  it('every route of the app names its action, and every non-read route says how it is audited', async (t) => {
    const vt = await build(t);
    await vt.app.ready();
    const routes = vt.app.routeTable;
    assert.ok(routes.length > 20, `the route table is filled (${routes.length} routes)`);
    assert.deepEqual(routeRuleProblems(routes), []);
    for (const route of routes) {
      const name = `${route.method} ${route.url}`;
      assert.match(route.config?.operation ?? '', OPERATION_NAME, name);
      if (!isReadMethod(route.method) && route.config?.access !== 'public') {
        assert.ok(['change', 'export', 'read', 'ingest'].includes(route.config?.audit ?? ''), `${name} declares config.audit`);
      }
    }
    const ingest = routes.filter((r) => r.config?.audit === 'ingest').map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(ingest.sort(), INGEST_ROUTES);
  });

  it('an app with a route that forgets the contract refuses to start, naming the route and the fix', async (t) => {
    const vt = await build(t);
    vt.app.post('/v1/forgotten', { config: { access: 'org:admin' } }, async () => ({}));
    vt.app.get('/v1/nameless', async () => ({}));
    await assert.rejects(async () => vt.app.ready(), (error: Error) => {
      assert.match(error.message, /route POST \/v1\/forgotten may change state but declares no config\.audit: add audit: 'change'/);
      assert.match(error.message, /route GET \/v1\/nameless names no action: add config\.operation/);
      return true;
    });
  });
});
