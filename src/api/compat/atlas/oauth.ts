/**
 * OAuth 2.0 client credentials for Atlas service accounts (spec/atlas.md §7.3), registered
 * under /api/oauth: `POST /token` (RFC 6749 §4.4) and `POST /revoke` (RFC 7009). Clients
 * authenticate with HTTP Basic (id and secret form-urlencoded inside it, RFC 6749 §2.3.1) or
 * with `client_id`/`client_secret` in the form; errors are RFC 6749 §5.2 bodies.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../../auth/principal.ts';
import {
  VT_ERR_OAUTH_CLIENT_INVALID,
  VT_ERR_OAUTH_GRANT_UNSUPPORTED,
  VT_ERR_OAUTH_REQUEST_INVALID,
  VT_ERR_UNSUPPORTED_MEDIA_TYPE,
  type ErrorCode,
} from '../../../core/errors.ts';
import { documentErrorBody } from '../../api-docs.ts';
import { failureOf } from '../../errors.ts';
import { OAuthError } from './schemas.ts';

const BASIC_REALM = 'Veritrail';

/** RFC 6749 §5.2 codes for catalogued errors; anything else by status. */
const OAUTH_ERRORS: Partial<Record<ErrorCode, string>> = {
  VT_ERR_OAUTH_GRANT_UNSUPPORTED: 'unsupported_grant_type',
  VT_ERR_OAUTH_CLIENT_INVALID: 'invalid_client',
  VT_ERR_OAUTH_REQUEST_INVALID: 'invalid_request',
  VT_ERR_UNSUPPORTED_MEDIA_TYPE: 'invalid_request',
  VT_ERR_BODY_TOO_LARGE: 'invalid_request',
  VT_ERR_VALIDATION: 'invalid_request',
};

function oauthErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = failureOf(error, request);
  const code = OAUTH_ERRORS[mapped.code] ?? (mapped.statusCode >= 500 ? (mapped.statusCode === 503 ? 'temporarily_unavailable' : 'server_error') : 'invalid_request');
  const status = mapped.statusCode >= 500 ? mapped.statusCode : code === 'invalid_client' ? 401 : 400;
  if (code === 'invalid_client') void reply.header('www-authenticate', `Basic realm="${BASIC_REALM}"`);
  void reply
    .code(status)
    .headers({ ...(mapped.headers ?? {}), 'cache-control': 'no-store', pragma: 'no-cache' })
    .type('application/json')
    .send({ error: code, error_description: mapped.message });
}

/** Form values; a parameter sent twice is refused (RFC 6749 §3.2). */
function formOf(body: unknown): Record<string, string> {
  if (!(body instanceof URLSearchParams)) throw new VT_ERR_OAUTH_REQUEST_INVALID('send an application/x-www-form-urlencoded body');
  const form: Record<string, string> = Object.create(null);
  for (const [name, value] of body) {
    if (name in form) throw new VT_ERR_OAUTH_REQUEST_INVALID(`${name} is given more than once`);
    form[name] = value;
  }
  return form;
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/** The client's id and secret, from Basic or from the form (not both: RFC 6749 §2.3). */
function clientCredentials(request: FastifyRequest, form: Record<string, string>): { id: string; secret: string } {
  const header = request.headers.authorization;
  const basic = header === undefined ? undefined : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (header !== undefined && !basic) throw new VT_ERR_OAUTH_CLIENT_INVALID();
  if (basic) {
    if (form.client_secret !== undefined) throw new VT_ERR_OAUTH_REQUEST_INVALID('authenticate the client one way only');
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new VT_ERR_OAUTH_CLIENT_INVALID();
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  }
  if (form.client_id === undefined || form.client_secret === undefined) throw new VT_ERR_OAUTH_CLIENT_INVALID();
  return { id: form.client_id, secret: form.client_secret };
}

/** Records who called, for self-audit: the principal and (for a project's account) its project. */
async function identify(request: FastifyRequest, principal: Principal): Promise<void> {
  request.principal = principal;
  if (principal.projectId !== null) request.project = await request.server.veritrail.project(principal.projectId);
}

export const atlasOauth: FastifyPluginAsync = async (app) => {
  const node = app.veritrail;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, new URLSearchParams(body as string)));
  app.setErrorHandler(oauthErrorHandler);
  documentErrorBody(app, OAuthError);

  /** Checks the client's credentials; a refusal of presented credentials is a failed authentication. */
  const authenticateClient = async (request: FastifyRequest, form: Record<string, string>) => {
    try {
      const { id, secret } = clientCredentials(request, form);
      return await node.accessTokens.client(id, secret);
    } catch (error) {
      if (request.headers.authorization !== undefined || form.client_id !== undefined) request.authFailed = true;
      throw error;
    }
  };

  app.post('/token', { config: { operation: 'CreateAccessToken', audit: 'change' }, schema: { tags: ['atlas'], summary: 'OAuth 2 client credentials: a Bearer access token for a service account' } }, async (request, reply) => {
    const form = formOf(request.body);
    const key = await authenticateClient(request, form);
    if (form.grant_type === undefined) throw new VT_ERR_OAUTH_REQUEST_INVALID('grant_type is missing');
    if (form.grant_type !== 'client_credentials') throw new VT_ERR_OAUTH_GRANT_UNSUPPORTED(JSON.stringify(form.grant_type));
    const { accessToken, expiresIn, principal } = node.accessTokens.issue(key);
    await identify(request, principal);
    return reply
      .headers({ 'cache-control': 'no-store', pragma: 'no-cache' })
      .type('application/json')
      .send({ access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer' });
  });

  app.post('/revoke', { config: { operation: 'RevokeAccessToken', audit: 'change' }, schema: { tags: ['atlas'], summary: 'RFC 7009: revoke an access token' } }, async (request, reply) => {
    const form = formOf(request.body);
    const key = await authenticateClient(request, form);
    if (!form.token) throw new VT_ERR_OAUTH_REQUEST_INVALID('token is missing');
    await node.accessTokens.revoke(form.token, key.id);
    await identify(request, node.authenticator.principalOf(key));
    return reply.code(200).send();
  });
};
