/**
 * Rows as both SQL engines return them, and their records (STYLE.md §5: the SQL-neutral part
 * lives once, above the engines). The engines name their columns alike so that one mapping
 * serves both; only the SQL that produces the rows differs.
 */
import type { KeyType } from '../core/key-types.ts';
import type { Role } from '../core/roles.ts';
import type { CheckpointRecord, CursorRecord, KeyRecord, ProjectRecord, SettingRecord } from './store.ts';

export interface ProjectRow {
  pk: number;
  id: string;
  name: string;
  created_at: string;
  log_origin: string;
  /** 0/1 in SQLite, a boolean in PostgreSQL. */
  system: number | boolean;
  tree_size: number;
}

export interface KeyRow {
  id: string;
  project_id: string | null;
  role: string;
  description: string;
  created_at: string;
  last_used_at: string | null;
  secret_hash: string;
  type: string;
  digest_ha1_sealed: string | null;
}

export interface CheckpointRow {
  tree_size: number;
  root_hash: Buffer;
  note: string;
  created_at: string;
}

export interface SettingRow {
  name: string;
  version: number;
  /** The value's JSON text. */
  value: string;
  updated_at: string;
}

export interface CursorRow {
  next_index: number;
  updated_at: string;
  status: string | null;
}

export function projectFromRow(row: ProjectRow): ProjectRecord {
  return { id: row.id, name: row.name, createdAt: row.created_at, logOrigin: row.log_origin, system: row.system === 1 || row.system === true };
}

export function keyFromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    role: row.role as Role,
    description: row.description,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    secretHash: row.secret_hash,
    ...(row.type !== 'native' ? { type: row.type as KeyType } : {}),
    ...(row.digest_ha1_sealed !== null ? { digestHa1Sealed: row.digest_ha1_sealed } : {}),
  };
}

export function checkpointFromRow(projectId: string, row: CheckpointRow): CheckpointRecord {
  return { projectId, treeSize: row.tree_size, rootHash: row.root_hash, note: row.note, createdAt: row.created_at };
}

export function settingFromRow<T>(projectId: string, row: SettingRow): SettingRecord<T> {
  return { projectId, name: row.name, value: JSON.parse(row.value) as T, version: row.version, updatedAt: row.updated_at };
}

export function cursorFromRow(projectId: string, destinationId: string, row: CursorRow): CursorRecord {
  const cursor: CursorRecord = { projectId, destinationId, nextIndex: row.next_index, updatedAt: row.updated_at };
  if (row.status !== null) cursor.status = row.status;
  return cursor;
}
