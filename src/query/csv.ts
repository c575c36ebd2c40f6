/**
 * RFC 4180 CSV: fields separated by commas, records by CRLF; a field holding a comma, a double
 * quote, CR or LF is enclosed in double quotes, with each double quote inside doubled. Written by
 * hand because it is these few lines; tests read the output back with csv-parse, an independent
 * parser.
 *
 * Cells are written as they are: no prefix is added to cells beginning with =, +, - or @ (the
 * "CSV injection" defence), because an audit export must reproduce the events exactly. Open
 * exports in a spreadsheet with that in mind (README "Export").
 */
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRecord(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\r\n';
}
