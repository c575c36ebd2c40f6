/**
 * Wire shapes of the native API (spec/api.md) as TypeBox schemas: they validate requests,
 * serialise responses and feed the OpenAPI document, so the three cannot disagree.
 */
import { Type, type Static } from 'typebox';
import { PROJECT_ROLES } from '../../core/roles.ts';

export const ErrorBody = Type.Object(
  {
    error: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), problem: Type.String() }))),
  },
  { $id: 'Error' },
);

export const ProjectParams = Type.Object({ projectId: Type.String() });

export const Project = Type.Object({
  id: Type.String({ pattern: '^[0-9a-f]{24}$' }),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  logOrigin: Type.String(),
});

export const CreateProjectBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export type CreateProjectBody = Static<typeof CreateProjectBody>;

export const ProjectList = Type.Object({ results: Type.Array(Project), totalCount: Type.Integer() });

export const ProjectRole = Type.Union(PROJECT_ROLES.map((role) => Type.Literal(role)));

export const CreateKeyBody = Type.Object(
  { role: ProjectRole, description: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type CreateKeyBody = Static<typeof CreateKeyBody>;

const KeyFields = {
  id: Type.String(),
  role: Type.String(),
  description: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
};

export const CreatedKey = Type.Object({ ...KeyFields, key: Type.String({ description: 'The key itself; shown in this response only.' }) });
export const KeyList = Type.Object({
  results: Type.Array(Type.Object({ ...KeyFields, lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) })),
});
export const KeyParams = Type.Object({ projectId: Type.String(), keyId: Type.String() });

export const Receipt = Type.Object({
  eventId: Type.String(),
  index: Type.Integer(),
  leafHash: Type.String({ description: 'Lowercase hex RFC 6962 leaf hash of the envelope.' }),
  receivedAt: Type.String({ format: 'date-time' }),
  checkpoint: Type.Optional(Type.String({ description: 'With ?wait=checkpoint: the signed checkpoint covering the event.' })),
  inclusionProof: Type.Optional(Type.Array(Type.String(), { description: 'With ?wait=checkpoint: base64 proof hashes.' })),
});
export const IngestQuery = Type.Object({ wait: Type.Optional(Type.Literal('checkpoint')) });
export const IngestBody = Type.Union([Type.Object({}, { additionalProperties: true }), Type.Array(Type.Object({}, { additionalProperties: true }))], {
  description: 'One event (a JSON object), a JSON array of events, or NDJSON (Content-Type: application/x-ndjson).',
});

export const LogKey = Type.Object({ name: Type.String(), vkey: Type.String() });

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const InclusionQuery = Type.Object({
  index: Type.Optional(Count),
  eventId: Type.Optional(Type.String({ minLength: 1 })),
  treeSize: Type.Optional(Count),
});
export const InclusionProof = Type.Object({
  index: Type.Integer(),
  treeSize: Type.Integer(),
  leafHash: Type.String(),
  hashes: Type.Array(Type.String()),
});
export const ConsistencyQuery = Type.Object({ from: Count, to: Type.Optional(Count) });
export const ConsistencyProof = Type.Object({ from: Type.Integer(), to: Type.Integer(), hashes: Type.Array(Type.String()) });

export const ExportQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('jsonl'), Type.Literal('csv')])),
});

// --- destinations (src/forward/) ------------------------------------------------------------

const DestinationKindSchema = Type.Union([Type.Literal('cloudwatch'), Type.Literal('syslog'), Type.Literal('webhook')]);
/** Every settable field; which apply depends on the kind (checked by forward/destination-input.ts). */
const destinationFields = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  enabled: Type.Optional(Type.Boolean()),
  region: Type.Optional(Type.String({ description: 'cloudwatch: AWS region, e.g. us-west-2' })),
  logGroupName: Type.Optional(Type.String({ description: 'cloudwatch: the log group' })),
  logStreamName: Type.Optional(Type.String({ description: 'cloudwatch: default veritrail-<projectId>' })),
  createLogGroup: Type.Optional(Type.Boolean({ description: 'cloudwatch: create the group when missing (default false)' })),
  format: Type.Optional(Type.String({ description: 'cloudwatch: json | qumulo-json; syslog: json | csv | qumulo-json' })),
  endpoint: Type.Optional(Type.String({ description: 'cloudwatch: endpoint override URL' })),
  accessKeyId: Type.Optional(Type.String({ minLength: 1 })),
  secretAccessKey: Type.Optional(Type.String({ description: 'cloudwatch: write-only; stored sealed, read back as "<set>"' })),
  host: Type.Optional(Type.String({ description: 'syslog: IP address or host name' })),
  port: Type.Optional(Type.Integer({ description: 'syslog: 1-65535 (default 514, 6514 for tls)' })),
  transport: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('tls'), Type.Literal('udp')])),
  appName: Type.Optional(Type.String({ description: 'syslog: RFC 5424 APP-NAME (default veritrail)' })),
  tlsCa: Type.Optional(Type.String({ description: 'syslog tls: PEM CA certificates to trust' })),
  tlsRejectUnauthorized: Type.Optional(Type.Boolean()),
  localEnabled: Type.Optional(Type.Boolean()),
  url: Type.Optional(Type.String({ description: 'webhook: http or https URL' })),
  secret: Type.Optional(Type.String({ description: 'webhook: HMAC-SHA256 key, write-only, 16+ characters' })),
};
export const CreateDestinationBody = Type.Object(
  { kind: DestinationKindSchema, startFrom: Type.Optional(Type.Union([Type.Literal('now'), Type.Literal('beginning')])), ...destinationFields },
  { additionalProperties: false },
);
export const PatchDestinationBody = Type.Object({ ...destinationFields, startFrom: Type.Optional(Type.String()) }, { additionalProperties: false });
export const DestinationParams = Type.Object({ projectId: Type.String(), destinationId: Type.String() });
export const DestinationView = Type.Object(
  { id: Type.String(), kind: DestinationKindSchema, version: Type.Integer(), updatedAt: Type.Union([Type.String(), Type.Null()]), ...destinationFields, startFrom: Type.String() },
  { additionalProperties: false },
);
export const DestinationList = Type.Object({ results: Type.Array(DestinationView) });
const DestinationErrorView = Type.Object({ message: Type.String(), details: Type.String(), at: Type.String() });
export const DestinationStatusView = Type.Object({
  id: Type.String(),
  kind: DestinationKindSchema,
  enabled: Type.Boolean(),
  state: Type.Union([Type.Literal('disabled'), Type.Literal('connecting'), Type.Literal('connected'), Type.Literal('error')]),
  lastError: Type.Union([DestinationErrorView, Type.Null()]),
  lastDeliveredIndex: Type.Union([Type.Integer(), Type.Null()]),
  nextIndex: Type.Integer(),
  treeSize: Type.Integer(),
  lagEvents: Type.Integer(),
  lagSeconds: Type.Number(),
  lastDeliveryAt: Type.Union([Type.String(), Type.Null()]),
  notes: Type.Record(Type.String(), Type.Number()),
});
