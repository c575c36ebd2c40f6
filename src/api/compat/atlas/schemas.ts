/**
 * Wire shapes of the Atlas auditing API (spec/atlas.md §3) as TypeBox schemas, for validation
 * of the path and for the OpenAPI document. Bodies are checked by translate.ts, which turns a
 * bad field into Atlas's own error codes rather than a generic schema failure.
 */
import { Type } from 'typebox';
import { CONFIGURATION_TYPES } from '../../../policy/audit-config.ts';

export const GroupParams = Type.Object({ groupId: Type.String({ description: 'The project id: 24 lowercase hex characters.' }) });

export const AtlasQuery = Type.Object({
  envelope: Type.Optional(Type.String({ description: 'true: wrap the body as {"content", "status"}.' })),
  pretty: Type.Optional(Type.String({ description: 'true: indent the body.' })),
});

export const AuditLog = Type.Object(
  {
    auditAuthorizationSuccess: Type.Boolean({ description: 'Record successful authCheck events.' }),
    auditFilter: Type.Optional(Type.String({ description: 'A MongoDB query document (JSON or shell syntax) selecting the events to record.' })),
    configurationType: Type.Enum(CONFIGURATION_TYPES, { description: 'Read-only.' }),
    enabled: Type.Boolean(),
  },
  { $id: 'AtlasAuditLog' },
);

export const ApiError = Type.Object(
  {
    badRequestDetail: Type.Optional(Type.Object({ fields: Type.Array(Type.Object({ description: Type.String(), field: Type.String() })) })),
    detail: Type.Optional(Type.String()),
    error: Type.Integer(),
    errorCode: Type.String(),
    parameters: Type.Optional(Type.Array(Type.Unknown())),
    reason: Type.Optional(Type.String()),
  },
  { $id: 'AtlasApiError' },
);

/** The error body of the token endpoints (RFC 6749 §5.2). */
export const OAuthError = Type.Object({
  error: Type.String({ description: 'An RFC 6749 §5.2 code, such as invalid_client' }),
  error_description: Type.String(),
});
