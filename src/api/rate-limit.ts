/**
 * A per-key rate limit (@fastify/rate-limit), as one root onRequest hook: it runs before any
 * scope's own hooks, so every dialect is covered, and before authentication, so a flood costs
 * neither a key lookup nor a self-audit record. Requests are counted per presented credential
 * (hashed: no key is held in memory), or per client address when they present none. A refused
 * request is thrown as VT_ERR_RATE_LIMITED, so each dialect's error handler answers it in its own
 * format (native: 429 RATE_LIMITED with Retry-After).
 */
import { hash } from 'node:crypto';
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../auth/bearer-token.ts';
import { VT_ERR_RATE_LIMITED } from '../core/errors.ts';

/** Buckets kept (least recently used beyond this start afresh). */
const MAX_TRACKED_CLIENTS = 10_000;

/**
 * The part of an Authorization header that names the caller and stays the same from one request
 * to the next: a Bearer token, a Digest username (nonces change), a SigV4 access key id
 * (signatures change), or the whole value for any other scheme.
 */
function credentialOf(authorization: string): string {
  return (
    bearerToken(authorization) ??
    /^Digest .*?\busername="([^"]*)"/i.exec(authorization)?.[1] ??
    /^AWS4-HMAC-SHA256 +Credential=([^/\s,]+)\//i.exec(authorization)?.[1] ??
    authorization
  );
}

/** The bucket a request counts against; never the credential itself. */
export function rateLimitKey(request: Pick<FastifyRequest, 'headers' | 'ip'>): string {
  const authorization = request.headers.authorization;
  return authorization ? `credential:${hash('sha256', credentialOf(authorization), 'base64url')}` : `address:${request.ip}`;
}

/** `perMinute` requests per minute per key; 0 turns the limit off. */
export const rateLimitPlugin = fp<{ perMinute: number }>(
  async (app, { perMinute }) => {
    if (perMinute === 0) return;
    await app.register(rateLimit, {
      global: false,
      max: perMinute,
      timeWindow: 60_000,
      cache: MAX_TRACKED_CLIENTS,
      keyGenerator: rateLimitKey,
      // Retry-After on a refusal only; no X-RateLimit-* headers on every answer of the hot path.
      addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
      addHeaders: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': false },
      errorResponseBuilder: (_request, context) => new VT_ERR_RATE_LIMITED(Math.max(1, Math.ceil(context.ttl / 1000))),
    });
    app.addHook('onRequest', app.rateLimit());
  },
  { name: 'veritrail-rate-limit' },
);
