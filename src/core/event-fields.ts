/**
 * The fields search and CSV export read out of an event, whatever shape it came in: a CloudTrail
 * record (spec/cloudtrail.md §4), a MongoDB audit message (spec/atlas.md §9.1), a Qumulo-style or
 * generic event (spec/qumulo.md §4.2: actor, action, status, source, timestamp), or anything else.
 * A pure function of the event: it runs in the search indexer, in CSV export and in tests, and
 * must give the same answer in each.
 *
 * Each field takes the first member that is present and usable, in the order below (README
 * "Search" repeats this table for users):
 *
 * | field       | members, first usable wins                                                          |
 * | ----------- | ----------------------------------------------------------------------------------- |
 * | eventTime   | `eventTime` (CloudTrail), `ts` (Mongo, Extended JSON `{"$date": …}`), `timestamp`,  |
 * |             | `time` — an RFC 3339 string, epoch milliseconds, or `{"$date": string|ms|{"$numberLong"}}` |
 * | eventName   | `eventName` (CloudTrail), `atype` (Mongo), `action`, `operation` (Qumulo)           |
 * | eventSource | `eventSource` (CloudTrail), else `source` when it is not an IP address              |
 * | actors      | every one of `userIdentity.userName`, `userIdentity.arn`, `actor` (a string, or the |
 * |             | `name`/`id` of an object), `users[].user` (Mongo), in that order; the first is "the" actor |
 * | sourceIp    | `sourceIPAddress` (CloudTrail), `remote.ip` (Mongo), `sourceIp`, `user_ip`,         |
 * |             | `ip_address` (Qumulo), else `source` when it is an IP address                       |
 * | outcome     | failure if `errorCode` is a non-empty string (CloudTrail); `result` a number: 0     |
 * |             | success, else failure (Mongo); `outcome`/`status`/`result` a string: success words  |
 * |             | (ok, success, succeeded, …) or failure; `status` an HTTP status number: < 400        |
 * |             | success; `success` a boolean; else a CloudTrail record (it has `eventVersion` or     |
 * |             | `userIdentity`) without errorCode is a success; otherwise unknown (null)            |
 *
 * The actor list is what `actor=` matches (spec/api.md: userIdentity.userName, userIdentity.arn,
 * actor, users.user, the last with MongoDB array semantics: any element).
 */
import { isIP } from 'node:net';

export type Outcome = 'success' | 'failure';

export interface EventFields {
  /** Milliseconds since the Unix epoch, when the event carries a time we can read. */
  eventTime: number | undefined;
  eventName: string | undefined;
  eventSource: string | undefined;
  /** Every actor name the event carries, first the one shown as "the" actor. */
  actors: string[];
  sourceIp: string | undefined;
  outcome: Outcome | undefined;
}

/** Words that mean a status or result string reports success (compared in lower case). */
const SUCCESS_WORDS = new Set(['ok', 'success', 'succeeded', 'successful', 'succeed', 'pass', 'passed', 'allowed', 'allow', 'true', 'done', 'completed']);

type Json = Record<string, unknown>;

function member(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json)[key] : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function firstText(event: Json, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = text(event[key]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * A time as epoch milliseconds: an RFC 3339 / ISO 8601 string with a date, a number of epoch
 * milliseconds, or Extended JSON `{"$date": <string | ms | {"$numberLong": "ms"}>}`. Anything
 * else (a bare date-less string, a number out of range) is unreadable: undefined.
 */
export function readTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && Math.abs(value) <= 8.64e15 ? Math.trunc(value) : undefined;
  if (typeof value === 'string') {
    // Date.parse accepts far more than RFC 3339 ("1", "March 7"); require a date first.
    if (!/^\d{4}-\d{2}-\d{2}([T ]|$)/.test(value)) return undefined;
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const date = member(value, '$date');
  if (date !== undefined && Object.keys(value as Json).length === 1) {
    const long = member(date, '$numberLong');
    return readTime(typeof long === 'string' ? Number(long) : date);
  }
  return undefined;
}

function eventTime(event: Json): number | undefined {
  for (const key of ['eventTime', 'ts', 'timestamp', 'time']) {
    if (event[key] === undefined) continue;
    const ms = readTime(event[key]);
    if (ms !== undefined) return ms;
  }
  return undefined;
}

function actors(event: Json): string[] {
  const found: string[] = [];
  const add = (value: unknown) => {
    const name = text(value);
    if (name !== undefined && !found.includes(name)) found.push(name);
  };
  const identity = event.userIdentity;
  add(member(identity, 'userName'));
  add(member(identity, 'arn'));
  const actor = event.actor;
  if (typeof actor === 'string') add(actor);
  else {
    add(member(actor, 'name'));
    add(member(actor, 'id'));
  }
  if (Array.isArray(event.users)) for (const user of event.users) add(member(user, 'user'));
  return found;
}

function outcomeOfWord(word: string): Outcome {
  return SUCCESS_WORDS.has(word.toLowerCase()) ? 'success' : 'failure';
}

function outcome(event: Json): Outcome | undefined {
  if (text(event.errorCode) !== undefined) return 'failure';
  const result = event.result;
  if (typeof result === 'number') return result === 0 ? 'success' : 'failure';
  for (const key of ['outcome', 'status', 'result']) {
    const word = text(event[key]);
    if (word !== undefined) return outcomeOfWord(word);
  }
  if (typeof event.status === 'number' && Number.isInteger(event.status) && event.status >= 100 && event.status < 600) {
    return event.status < 400 ? 'success' : 'failure';
  }
  if (typeof event.success === 'boolean') return event.success ? 'success' : 'failure';
  // A CloudTrail record states failure only by carrying errorCode.
  if (event.eventVersion !== undefined || typeof event.userIdentity === 'object') return 'success';
  return undefined;
}

/** The search fields of one event (a client's object as it was posted). */
export function eventFields(event: Json): EventFields {
  const source = text(event.source);
  const sourceIsIp = source !== undefined && isIP(source) !== 0;
  return {
    eventTime: eventTime(event),
    eventName: firstText(event, ['eventName', 'atype', 'action', 'operation']),
    eventSource: text(event.eventSource) ?? (sourceIsIp ? undefined : source),
    actors: actors(event),
    sourceIp: text(event.sourceIPAddress) ?? text(member(event.remote, 'ip')) ?? firstText(event, ['sourceIp', 'user_ip', 'ip_address']) ?? (sourceIsIp ? source : undefined),
    outcome: outcome(event),
  };
}

/**
 * The words of an event for full-text search: every string and number value, depth first, in
 * member order, separated by spaces (member names and booleans are left out: every CloudTrail record has an
 * `eventName` member, and matching on it would match everything). Stops adding after
 * `maxChars` characters, so one huge event cannot dominate the index.
 */
export function eventText(event: unknown, maxChars = 64 * 1024): string {
  const parts: string[] = [];
  let length = 0;
  const walk = (value: unknown): void => {
    if (length >= maxChars) return;
    if (typeof value === 'string') {
      parts.push(value);
      length += value.length + 1;
    } else if (typeof value === 'number') {
      const word = String(value);
      parts.push(word);
      length += word.length + 1;
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const key in value) walk((value as Json)[key]);
    }
  };
  walk(event);
  const joined = parts.join(' ');
  return joined.length > maxChars ? joined.slice(0, maxChars) : joined;
}
