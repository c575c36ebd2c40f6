/**
 * Self-audit (DESIGN.md "Everything the service itself is asked to do … is recorded"): one
 * onSend hook for every scope and dialect. A route opts in through its config:
 *
 *   config: { operation: 'CreateKey', audit: 'change' }
 *
 * `change` and `export` calls are always recorded, whatever their outcome; `read` calls only
 * when the server records reads (off by default); `ingest` calls never (the events they append
 * are their own record). Every failed authentication (credentials presented and refused) is
 * recorded whatever the route. A request refused by the rate limiter is not: it was turned away
 * before anything was looked at, and writing a record for each would undo the limiter's work.
 * Every route must declare `operation`, and every non-read route `audit` (route-rules.ts); the
 * app refuses to start otherwise.
 *
 * The hook runs before the response leaves, and waits for the record's commit: a call is not
 * acknowledged unless its record is in the log. If the record cannot be committed the caller
 * gets 503 VT_ERR_AUDIT_NOT_COMMITTED instead of the route's answer (a new key is never shown),
 * though a change the route already made stands; the error says so, so clients check first.
 *
 * Where records go: into the log of the project the call names (when it exists), else into the
 * built-in system project that only ORG_OWNER can read; failed authentications always go there.
 */
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { VT_ERR_AUDIT_NOT_COMMITTED } from '../../core/errors.ts';
import { isProjectId } from '../../core/ids.ts';
import type { VeritrailNode } from '../node.ts';
import { selfAuditRecord } from './record.ts';
import { isReadMethod, routeRuleProblems } from './route-rules.ts';

/**
 * Which calls of a route are recorded: `change` (always), `export` (always), `read` (with
 * --audit-reads), `ingest` (never; the appended events are the record).
 */
export type AuditKind = 'change' | 'read' | 'export' | 'ingest';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The API action's name in self-audit records (CloudTrail eventName), e.g. CreateProject. */
    operation?: string;
    audit?: AuditKind;
  }
  interface FastifyRequest {
    /** The catalogued error the call failed with, set by a dialect's error handler. */
    failure?: { code: string; message: string };
    /** Set by an authenticator that was given credentials and refused them. */
    authFailed?: boolean;
    /**
     * Set by an authenticator that answered with a challenge a request that carried no usable
     * credentials yet (HTTP Digest's first round trip, a stale nonce): a step of the protocol,
     * not a call, so nothing is recorded.
     */
    authChallenge?: boolean;
    /** Set once the call's record is written, so an error reply does not write a second. */
    selfAudited?: boolean;
  }
}

export const selfAuditPlugin = fp<{ node: VeritrailNode }>(
  async (app, { node }) => {
    app.decorateRequest('failure', undefined);
    app.decorateRequest('authFailed', false);
    app.decorateRequest('authChallenge', false);
    app.decorateRequest('selfAudited', false);

    // The route contract is checked once every route exists; a violation stops the start.
    app.addHook('onReady', async () => {
      const problems = routeRuleProblems(app.routeTable);
      if (problems.length > 0) throw new Error(`self-audit cannot cover every route:\n  ${problems.join('\n  ')}`);
    });

    app.addHook('onSend', async (request, reply, payload) => {
      if (request.selfAudited || request.failure?.code === 'VT_ERR_RATE_LIMITED' || (request.authChallenge && !request.authFailed)) return payload;
      const config = request.routeOptions.config;
      const recorded = config.audit === 'change' || config.audit === 'export' || (config.audit === 'read' && node.config.auditReads === true);
      if (!request.authFailed && !recorded) return payload;
      request.selfAudited = true;
      const projectId = request.authFailed ? node.systemProjectId : await targetProject(node, request);
      const record = selfAuditRecord({
        eventName: config.operation ?? `${request.method} ${request.routeOptions.url ?? request.url}`,
        readOnly: config.audit === 'read' || config.audit === 'export' || (config.audit === undefined && isReadMethod(request.method as 'GET')),
        principal: request.principal,
        sourceIp: request.ip,
        userAgent: request.headers['user-agent'],
        requestId: request.id,
        requestParameters: requestParameters(request),
        responseElements: responseElements(reply, payload),
        ...(reply.statusCode >= 400 ? { error: request.failure ?? { code: String(reply.statusCode), message: 'the call failed' } } : {}),
        region: node.config.region,
        timeMs: node.clock.now(),
      });
      try {
        await node.recordSelfAudit(projectId, record);
      } catch (error) {
        request.log.error({ err: error }, "couldn't commit the self-audit record");
        throw new VT_ERR_AUDIT_NOT_COMMITTED(request.id);
      }
      return payload;
    });
  },
  { name: 'veritrail-self-audit', dependencies: ['veritrail-services', 'veritrail-route-table'] },
);

/** The project the call names, if it exists; otherwise the system project. */
async function targetProject(node: VeritrailNode, request: FastifyRequest): Promise<string> {
  if (request.project) return request.project.id;
  const named = (request.params as { projectId?: unknown } | undefined)?.projectId;
  if (typeof named === 'string' && isProjectId(named) && (await node.project(named))) return named;
  return node.systemProjectId;
}

function requestParameters(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  return {
    ...(request.params as object),
    ...(request.query as object),
    ...(body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as object) : {}),
  };
}

/** The JSON body of a small JSON response, for responseElements; null for anything else. */
function responseElements(reply: FastifyReply, payload: unknown): unknown {
  const type = String(reply.getHeader('content-type') ?? '');
  if (typeof payload !== 'string' || !type.includes('json') || payload.length > 64 * 1024) return null;
  try {
    return JSON.parse(payload);
  } catch {
    return null;
  }
}
