/**
 * The PostgreSQL schema, as versioned migrations (the same mechanism as SQLite's, applied by
 * postgres-store.ts under an advisory lock so that nodes starting together do not race).
 *
 * Unlike SQLite, everything is in one database and every commit is durable: the event-id index
 * is a UNIQUE index on the entries themselves, because with several nodes it is also what
 * stops one id being appended twice (store.ts, DuplicateEventIdError). Times are kept as the
 * RFC 3339 text the API serves, so records round-trip byte for byte as they do on SQLite.
 */
import type { Migration } from '../migrations.ts';

export const POSTGRES_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'core',
    statements: [
      `CREATE TABLE projects (
         pk integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         id text NOT NULL UNIQUE,
         name text NOT NULL,
         created_at text NOT NULL,
         log_origin text NOT NULL,
         system boolean NOT NULL DEFAULT false,
         tree_size bigint NOT NULL DEFAULT 0
       )`,
      `CREATE TABLE keys (
         id text PRIMARY KEY,
         project_pk integer REFERENCES projects(pk),
         role text NOT NULL,
         description text NOT NULL,
         created_at text NOT NULL,
         last_used_at text,
         secret_hash text NOT NULL UNIQUE,
         revoked_at text
       )`,
      `CREATE INDEX keys_by_project ON keys(project_pk, created_at)`,
      // The primary key clusters a log's entries in index order; the unique id index is the
      // de-duplication index (C collation: ids compare as bytes, and faster).
      `CREATE TABLE entries (
         project_pk integer NOT NULL,
         idx bigint NOT NULL,
         event_id text COLLATE "C" NOT NULL,
         envelope bytea,
         PRIMARY KEY (project_pk, idx),
         CONSTRAINT entries_event_id UNIQUE (project_pk, event_id)
       )`,
      `CREATE TABLE tiles (
         project_pk integer NOT NULL,
         level smallint NOT NULL,
         idx bigint NOT NULL,
         hashes bytea NOT NULL,
         PRIMARY KEY (project_pk, level, idx)
       )`,
      `CREATE TABLE checkpoints (
         project_pk integer NOT NULL,
         tree_size bigint NOT NULL,
         root_hash bytea NOT NULL,
         note text NOT NULL,
         created_at text NOT NULL,
         PRIMARY KEY (project_pk, tree_size)
       )`,
      `CREATE TABLE settings (
         project_pk integer NOT NULL,
         name text NOT NULL,
         version integer NOT NULL,
         value text NOT NULL,
         updated_at text NOT NULL,
         PRIMARY KEY (project_pk, name, version)
       )`,
    ],
  },
];
