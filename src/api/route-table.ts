/**
 * Every route the app registers, in every scope and dialect, collected by one root onRoute hook
 * (registered first, so nothing escapes it). Self-audit checks its rules over this table at
 * start-up, and the tests walk it to prove that the rules, the OpenAPI document and the
 * self-audit suite cover every route, including routes added after this file was written.
 */
import fp from 'fastify-plugin';
import type { RouteOptions } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered so far (HEAD twins of GET routes included). */
    readonly routeTable: readonly RouteOptions[];
  }
}

export const routeTablePlugin = fp(
  async (app) => {
    const routes: RouteOptions[] = [];
    app.decorate('routeTable', routes);
    // The options object is the one Fastify builds the route from, so changes made by later
    // onRoute hooks (a scope that fills in config, say) are seen here too.
    app.addHook('onRoute', (route) => {
      routes.push(route);
    });
  },
  { name: 'veritrail-route-table' },
);
