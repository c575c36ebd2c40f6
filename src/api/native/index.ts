/**
 * The native API (spec/api.md), one encapsulated plugin registered under /v1: its own body
 * parsers, auth hook and error format stay inside this scope.
 */
import type { FastifyPluginAsync } from 'fastify';
import { registerJsonBodyParsers } from '../json-body-parsers.ts';
import { auditConfigRoutes } from './audit-config.ts';
import { nativeAuthHook } from './auth-hook.ts';
import { nativeErrorHandler } from './errors.ts';
import { destinationRoutes } from './destinations.ts';
import { exportRoutes } from './export.ts';
import { ingestRoutes } from './ingest.ts';
import { keyRoutes } from './keys.ts';
import { logRoutes } from './log.ts';
import { projectRoutes } from './projects.ts';
import { searchRoutes } from './search.ts';

export const nativeApi: FastifyPluginAsync = async (app) => {
  // Ingest, in its own scope, reads JSON and NDJSON raw.
  registerJsonBodyParsers(app, ['application/json']);
  app.setErrorHandler(nativeErrorHandler);
  app.addHook('onRequest', nativeAuthHook);
  await app.register(projectRoutes);
  await app.register(keyRoutes);
  await app.register(ingestRoutes);
  await app.register(logRoutes);
  await app.register(searchRoutes);
  await app.register(exportRoutes);
  await app.register(auditConfigRoutes);
  await app.register(destinationRoutes);
};
