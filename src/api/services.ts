/**
 * The node's services, shared by every plugin scope (fastify-plugin, so encapsulation does not
 * hide them), with the request fields the auth hooks fill in.
 */
import fp from 'fastify-plugin';
import type { Principal } from '../auth/principal.ts';
import type { ProjectRecord } from '../store/store.ts';
import type { Permission } from '../auth/principal.ts';
import type { VeritrailNode } from './node.ts';

/** Who may call a route: nobody needs a key (`public`), or a key with this permission. */
export type Access = 'public' | Permission;

declare module 'fastify' {
  interface FastifyInstance {
    veritrail: VeritrailNode;
  }
  interface FastifyRequest {
    /** Set by the auth hook of routes that need a key. */
    principal?: Principal;
    /** Set by the auth hook of routes under /projects/:projectId. */
    project?: ProjectRecord;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export const servicesPlugin = fp<{ node: VeritrailNode }>(
  async (app, { node }) => {
    app.decorate('veritrail', node);
    app.decorateRequest('principal', undefined);
    app.decorateRequest('project', undefined);
  },
  { name: 'veritrail-services' },
);
