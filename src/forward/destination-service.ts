/**
 * Reads and writes destinations (versioned settings `destination/<id>`) for every API that
 * configures them, the native one and the Qumulo dialect, and hands each change to the
 * Forwarder. It owns the rules a write must keep: compare-and-set on the version (the ETag),
 * validation, sealing secrets, and creating the delivery cursor before a destination is first
 * enabled, so that a crash right after the write cannot make it start later than promised.
 */
import { isoTime, type Clock } from '../core/clock.ts';
import { VT_ERR_DESTINATION_NOT_FOUND, VT_ERR_PRECONDITION_FAILED, validationError } from '../core/errors.ts';
import type { SecretBox } from '../core/secret-box.ts';
import { VersionMismatchError, type Store } from '../store/store.ts';
import { DESTINATION_SETTING_PREFIX, destinationProblems, destinationSettingName, SECRET_MEMBERS, secretPurpose, type Destination } from './destination.ts';
import { cursorOrStart } from './destination-worker.ts';
import type { Forwarder } from './forwarder.ts';

export interface StoredDestination {
  id: string;
  /** The setting's version: the ETag. 0 for a destination never written. */
  version: number;
  updatedAt: string | null;
  destination: Destination;
}

/** A write's precondition (an HTTP If-Match): which current versions it may go ahead on. */
export interface Precondition {
  matches(version: number): boolean;
  /** What the client sent, for the 412 message. */
  header: string;
}

export interface WriteOptions {
  /** Absent: an unconditional write, which recomputes after a lost race. */
  ifMatch?: Precondition;
  /** Secrets in clear, by member name; sealed here before anything is stored. */
  secrets?: Record<string, string>;
}

/** How many times an unconditional write retries after losing a compare-and-set race. */
const MAX_RACE_RETRIES = 5;

export class DestinationService {
  constructor(
    private readonly store: Store,
    private readonly secretBox: SecretBox,
    private readonly forwarder: Forwarder,
    private readonly clock: Clock,
  ) {}

  /** Live (not deleted) destinations of a project, by id. */
  async list(projectId: string): Promise<StoredDestination[]> {
    const settings = await this.store.listSettings<Destination>(projectId, DESTINATION_SETTING_PREFIX);
    return settings
      .filter((s) => !s.value.deleted)
      .map((s) => ({ id: s.name.slice(DESTINATION_SETTING_PREFIX.length), version: s.version, updatedAt: s.updatedAt, destination: s.value }));
  }

  /** The stored version (0 when never written) and the destination, if it is live. */
  async get(projectId: string, id: string): Promise<{ version: number; updatedAt: string | null; destination: Destination | undefined }> {
    const setting = await this.store.getSetting<Destination>(projectId, destinationSettingName(id));
    return { version: setting?.version ?? 0, updatedAt: setting?.updatedAt ?? null, destination: setting && !setting.value.deleted ? setting.value : undefined };
  }

  /**
   * Writes a new version computed by `change` from the live one (undefined if none). Atomic
   * against concurrent writers: with If-Match, a lost race is 412; without, it recomputes.
   */
  async write(projectId: string, id: string, change: (current: Destination | undefined) => Destination, options: WriteOptions = {}): Promise<StoredDestination> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(projectId, id);
      if (options.ifMatch && !options.ifMatch.matches(current.version)) throw new VT_ERR_PRECONDITION_FAILED(current.version, options.ifMatch.header);
      const next = this.sealed(projectId, id, change(current.destination), options.secrets ?? {});
      const problems = destinationProblems(next);
      if (problems.length > 0) throw validationError(problems);
      if (next.enabled) await cursorOrStart(this.store, projectId, id, next.startFrom, this.clock);
      try {
        const record = await this.store.putSetting(projectId, destinationSettingName(id), next, { ifVersion: current.version, at: isoTime(this.clock.now()) });
        await this.forwarder.apply(projectId, id, next, record.version);
        return { id, version: record.version, updatedAt: record.updatedAt, destination: next };
      } catch (error) {
        if (!(error instanceof VersionMismatchError)) throw error;
        if (options.ifMatch || attempt >= MAX_RACE_RETRIES) throw new VT_ERR_PRECONDITION_FAILED(error.current, options.ifMatch?.header ?? 'absent');
      }
    }
  }

  /** As write, for a destination that must be live: VT_ERR_DESTINATION_NOT_FOUND when it is not. */
  update(projectId: string, id: string, change: (current: Destination) => Destination, options: WriteOptions = {}): Promise<StoredDestination> {
    return this.write(
      projectId,
      id,
      (current) => {
        if (!current) throw new VT_ERR_DESTINATION_NOT_FOUND(JSON.stringify(id), projectId);
        return change(current);
      },
      options,
    );
  }

  /**
   * Deletes a destination (a tombstone version: its history stays); VT_ERR_DESTINATION_NOT_FOUND
   * when it is not live.
   */
  async remove(projectId: string, id: string, options: WriteOptions = {}): Promise<void> {
    await this.update(projectId, id, (current) => ({ ...current, enabled: false, deleted: true }), options);
  }

  private sealed(projectId: string, id: string, destination: Destination, secrets: Record<string, string>): Destination {
    const out: Record<string, unknown> = { ...destination };
    for (const member of SECRET_MEMBERS[destination.kind]) {
      const clear = secrets[member];
      if (clear !== undefined) out[member] = this.secretBox.seal(clear, secretPurpose(projectId, id, member));
    }
    return out as unknown as Destination;
  }
}
