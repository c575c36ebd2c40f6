/**
 * Wire shapes of the native API (spec/api.md) as TypeBox schemas: they validate requests,
 * serialise responses and feed the OpenAPI document, so the three cannot disagree.
 */
import { Type, type Static } from 'typebox';
import { KEY_TYPES } from '../../core/key-types.ts';
import { PROJECT_ROLES } from '../../core/roles.ts';
import { CONFIGURATION_TYPES } from '../../policy/audit-config.ts';
import { DROP_REASONS } from '../../policy/audit-policy.ts';

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

export const ProjectRole = Type.Enum(PROJECT_ROLES);

export const CreateKeyBody = Type.Object(
  {
    role: ProjectRole,
    description: Type.Optional(Type.String({ maxLength: 500 })),
    type: Type.Optional(
      Type.Enum(KEY_TYPES, {
        description: 'native (default): Bearer only; atlas: also an Atlas API key pair for HTTP Digest; service-account: also OAuth client credentials.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateKeyBody = Static<typeof CreateKeyBody>;

const KeyFields = {
  id: Type.String(),
  role: Type.String(),
  description: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
};

/** What other schemes call a key; present on `atlas` and `service-account` keys only. */
const KeyIdentityFields = {
  type: Type.Optional(Type.String({ description: 'atlas or service-account; absent for native keys.' })),
  publicKey: Type.Optional(Type.String({ description: 'atlas keys: the Digest username (the key id).' })),
  clientId: Type.Optional(Type.String({ description: 'service accounts: the OAuth client id, mdb_sa_id_<key id>.' })),
};

export const CreatedKey = Type.Object({
  ...KeyFields,
  key: Type.String({ description: 'The key itself; shown in this response only.' }),
  ...KeyIdentityFields,
  privateKey: Type.Optional(Type.String({ description: 'atlas keys: the Digest password (the key itself); shown in this response only.' })),
  clientSecret: Type.Optional(Type.String({ description: 'service accounts: the OAuth client secret (the key itself); shown in this response only.' })),
});
export const KeyList = Type.Object({
  results: Type.Array(Type.Object({ ...KeyFields, lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]), ...KeyIdentityFields })),
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
export const DroppedReceipt = Type.Object({
  eventId: Type.String(),
  recorded: Type.Literal(false),
  reason: Type.Enum(Object.values(DROP_REASONS), {
    description: "Why the project's audit configuration did not record the event.",
  }),
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

export const ExportQuery = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('jsonl'), Type.Literal('csv')], { description: 'jsonl (default; verifiable offline) or csv (RFC 4180)' })),
    from: Type.Optional(Type.String({ description: 'RFC 3339; events whose time is at or after it (as in search)' })),
    to: Type.Optional(Type.String({ description: 'RFC 3339; events whose time is before it' })),
  },
  { additionalProperties: false },
);

const Field = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 512, description }));

/** Search (spec/api.md "Reading events"). Unknown parameters are refused, so a typo is never silently ignored. */
export const SearchQuerystring = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'RFC 3339; events whose time (eventTime if the event has one, else receivedAt) is at or after it' })),
    to: Type.Optional(Type.String({ description: 'RFC 3339; events whose time is before it (the range is half-open)' })),
    eventName: Field('exact eventName (CloudTrail), atype (MongoDB), action or operation'),
    eventSource: Field('exact eventSource (CloudTrail), or source when it is not an IP address'),
    actor: Field('exact userIdentity.userName, userIdentity.arn, actor or any users[].user'),
    sourceIp: Field('exact sourceIPAddress, remote.ip, sourceIp, user_ip, ip_address, or source when it is an IP address'),
    outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'full text: words or "quoted phrases", all must match; a trailing * matches a word prefix' })),
    filter: Type.Optional(Type.String({ minLength: 1, maxLength: 16384, description: 'a MongoDB query document (JSON) evaluated against {eventId, projectId, receivedAt, event}' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    order: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')], { description: 'by time, then index; desc by default' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'the next value of the previous page' })),
  },
  { additionalProperties: false },
);

const EventResultFields = {
  index: Type.Integer(),
  eventId: Type.String(),
  projectId: Type.String(),
  receivedAt: Type.String({ format: 'date-time' }),
  leafHash: Type.String({ description: 'Lowercase hex RFC 6962 leaf hash of the envelope.' }),
  event: Type.Object({}, { additionalProperties: true }),
};
export const EventResult = Type.Object(EventResultFields);
export const SearchResults = Type.Object({
  results: Type.Array(EventResult),
  next: Type.Union([Type.String(), Type.Null()], { description: 'the cursor of the next page; null after the last' }),
});

export const EventParams = Type.Object({ projectId: Type.String(), eventId: Type.String({ minLength: 1, maxLength: 256 }) });
export const GetEventQuerystring = Type.Object({ proof: Type.Optional(Type.Boolean({ description: 'add an inclusion proof against the latest checkpoint' })) }, { additionalProperties: false });
export const EventWithProof = Type.Object({
  ...EventResultFields,
  proof: Type.Optional(
    Type.Object({
      treeSize: Type.Integer(),
      hashes: Type.Array(Type.String(), { description: 'base64 RFC 6962 inclusion proof' }),
      checkpoint: Type.String({ description: 'the signed checkpoint (C2SP note text) of treeSize' }),
    }),
  ),
});

export const AuditConfigView = Type.Object(
  {
    enabled: Type.Boolean({ description: 'False: no event of the project is recorded.' }),
    auditFilter: Type.Optional(Type.String({ description: 'A MongoDB query document (JSON or shell syntax) events must match to be recorded.' })),
    auditAuthorizationSuccess: Type.Boolean({ description: 'False: successful authCheck events are dropped whatever the filter says.' }),
    configurationType: Type.Enum(CONFIGURATION_TYPES, {
      description: 'NONE: never configured, and every event is recorded. Read-only.',
    }),
    version: Type.Integer({ description: 'The configuration version; 0 when never configured.' }),
    updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    changedBy: Type.Optional(Type.String({ description: 'The id of the key that made this version.' })),
    via: Type.Optional(Type.String({ description: 'The API the change came through: native, atlas-v2, atlas-v1.0.' })),
    warning: Type.Optional(Type.String({ description: 'Set when the filter uses an operator Veritrail does not evaluate and so matches nothing.' })),
  },
  { $id: 'AuditConfig' },
);
export const AuditConfigPatchBody = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    auditFilter: Type.Optional(Type.Union([Type.String({ maxLength: 64 * 1024 }), Type.Null()], { description: 'null or "" removes the filter.' })),
    auditAuthorizationSuccess: Type.Optional(Type.Boolean()),
    configurationType: Type.Optional(Type.String({ description: 'Read-only; accepted and ignored, so a GET body can be sent back.' })),
  },
  { additionalProperties: false },
);
export const AuditConfigHistory = Type.Object({ results: Type.Array(AuditConfigView) });

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
