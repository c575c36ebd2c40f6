/**
 * From a stored entry to its search document: the envelope's event through the field mapping
 * of core/event-fields.ts, its time (the event's own, else when Veritrail received it) and its
 * words. Engines store these as given (store.ts `SearchDocument`).
 */
import { eventFields, eventText, type EventFields } from '../core/event-fields.ts';
import { parseEnvelope } from '../core/envelope.ts';
import type { SearchDocument, StoredEntry } from '../store/store.ts';

/** An entry's time for search and export ranges: the event's own, else when Veritrail received it. */
export function searchTime(fields: EventFields, receivedAt: string): number {
  return fields.eventTime ?? Date.parse(receivedAt);
}

export function searchDocument(entry: StoredEntry): SearchDocument {
  const envelope = parseEnvelope(entry.envelope);
  const fields = eventFields(envelope.event);
  return {
    index: entry.index,
    time: searchTime(fields, envelope.receivedAt),
    eventName: fields.eventName ?? null,
    eventSource: fields.eventSource ?? null,
    sourceIp: fields.sourceIp ?? null,
    actors: fields.actors,
    outcome: fields.outcome ?? null,
    // The id too, so that q finds an event by an id Veritrail gave it.
    text: `${envelope.eventId} ${eventText(envelope.event)}`,
  };
}
