import { randomBytes, randomUUID } from 'node:crypto';

/** Project ids are 24 lowercase hex characters, the form of Atlas group ids (spec/api.md). */
export const PROJECT_ID_PATTERN = /^[0-9a-f]{24}$/;

export function isProjectId(value: string): boolean {
  return PROJECT_ID_PATTERN.test(value);
}

/** A new random project id. */
export function newProjectId(): string {
  return randomBytes(12).toString('hex');
}

/** A new random key id (public; the secret is the key itself). Same form as project ids. */
export function newKeyId(): string {
  return randomBytes(12).toString('hex');
}

/** A new random event id, used when an event carries none of its own. */
export function newEventId(): string {
  return randomUUID();
}
