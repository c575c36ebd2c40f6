/**
 * Veritrail's public surface for programs that embed it or build on its formats: the node and
 * its HTTP app, the storage contract and engines, and the log formats a verifier needs.
 */
export { VeritrailNode } from './api/node.ts';
export { buildApp } from './api/app.ts';
export type * from './api/node-config.ts';
export { DEFAULT_PORT, DEFAULT_HOST, DEFAULT_DATA_DIR } from './api/node-config.ts';

export type * from './store/store.ts';
export { TreeSizeMismatchError, DuplicateEventIdError, AlreadyExistsError, VersionMismatchError } from './store/store.ts';
export { SqliteStore } from './store/sqlite/sqlite-store.ts';
export { PgStore } from './store/postgres/postgres-store.ts';
export { openStore, type StoreLocation } from './store/open-store.ts';

export { canonicalize } from './core/canonical-json.ts';
export { envelopeText, type Envelope } from './core/envelope.ts';
export { ERROR_CATALOGUE, VeritrailError, type ErrorCode } from './core/errors.ts';
export type { Role } from './core/roles.ts';
export { eventFields, eventText, type EventFields, type Outcome } from './core/event-fields.ts';
export { compileMongoQuery, MongoQueryError } from './core/mongo-query.ts';

export type { AuditConfig, AuditConfigPatch, ConfigurationType } from './policy/audit-config.ts';
export { compileAuditPolicy, decideAudit, DROP_REASONS, type AuditDecision, type CompiledAuditPolicy } from './policy/audit-policy.ts';
export { compileAuditFilter, AuditFilterError } from './policy/audit-filter.ts';

export { leafHash, nodeHash, EMPTY_ROOT } from './log/hashing.ts';
export { verifyInclusion, verifyConsistency, rootFromInclusionProof } from './log/merkle.ts';
export { formatCheckpoint, parseCheckpoint, type Checkpoint } from './log/checkpoint.ts';
export { openNote, signNote, parseVerifierKey, parseSignerKey, type NoteVerifier, type NoteSigner } from './log/signed-note.ts';
export { verifyExport, type ExportVerification } from './log/export-verifier.ts';
