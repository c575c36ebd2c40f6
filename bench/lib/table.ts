/**
 * The results table: figure, value, unit, baseline, ratio to baseline, target, ratio to target,
 * pass/fail. A figure with two targets takes two lines; the second repeats only the target
 * columns.
 */
import type { EvaluatedFigure, Target } from './figures.ts';

const HEADERS = ['figure', 'value', 'unit', 'baseline', '÷ baseline', 'target', '÷ target', 'result'];
/** Columns whose text is right-aligned (numbers). */
const RIGHT = new Set([1, 4, 6]);

/** A number with about three significant digits and thousands separators. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatRatio(value: number | null): string {
  return value === null ? '—' : `${value.toFixed(2)}×`;
}

export function formatTarget(target: Target, unit: string): string {
  const op = target.op === '>=' ? '≥' : '≤';
  return target.on === 'value' ? `${op} ${formatNumber(target.threshold)} ${unit}` : `${op} ${target.threshold}× baseline`;
}

function rows(figure: EvaluatedFigure): string[][] {
  const value = figure.value === null ? 'not measured' : formatNumber(figure.value);
  const baseline = figure.baseline ? `${figure.baseline.label} ${formatNumber(figure.baseline.value)}` : '';
  const head = [figure.label, value, figure.unit, baseline, figure.baseline ? formatRatio(figure.baselineRatio) : ''];
  if (figure.checks.length === 0) return [[...head, '', '', '']];
  return figure.checks.map((check, i) => [
    ...(i === 0 ? head : ['', '', '', '', '']),
    formatTarget(check.target, figure.unit),
    formatRatio(check.ratio),
    check.pass === null ? '—' : check.pass ? 'pass' : 'FAIL',
  ]);
}

/** The table as text, one line per row, with the notes of figures listed below it. */
export function renderTable(figures: readonly EvaluatedFigure[]): string {
  const body = figures.flatMap(rows);
  const widths = HEADERS.map((h, col) => Math.max(h.length, ...body.map((row) => row[col]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, col) => (RIGHT.has(col) ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!))).join('  ').trimEnd();
  const notes = groupedNotes(figures).map((note) => `  - ${note}`);
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), ...(notes.length > 0 ? ['', 'Notes:', ...notes] : [])].join('\n');
}

/** `label: note` lines; a note shared by several figures (a scenario not measurable yet) once. */
function groupedNotes(figures: readonly EvaluatedFigure[]): string[] {
  const byNote = new Map<string, string[]>();
  for (const f of figures) if (f.note) byNote.set(f.note, [...(byNote.get(f.note) ?? []), f.label]);
  return [...byNote].map(([note, labels]) => `${labels.length === 1 ? labels[0] : `${labels.length} figures (${labels[0]}, …)`}: ${note}`);
}

/** The same table in Markdown, with its notes, for the README. */
export function renderMarkdown(figures: readonly EvaluatedFigure[]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return [
    `| ${HEADERS.join(' | ')} |`,
    `| ${HEADERS.map((_, col) => (RIGHT.has(col) ? '---:' : '---')).join(' | ')} |`,
    ...figures.flatMap(rows).map((row) => `| ${row.map(escape).join(' | ')} |`),
    '',
    ...groupedNotes(figures).map((note) => `- ${note}`),
  ].join('\n');
}
