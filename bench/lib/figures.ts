/**
 * A figure is one measured number with its unit, the baseline measured beside it in the same
 * run, and the targets. A figure that could not be measured has `value: null` and says
 * why in `note`; nothing is ever filled in from elsewhere.
 */

/** A target from issue 3, on the value itself or on its ratio to the baseline. */
export interface Target {
  on: 'value' | 'baseline-ratio';
  op: '>=' | '<=';
  threshold: number;
}

export interface Figure {
  /** Stable key for comparing runs, e.g. `ingest.batched.events_per_s`. */
  id: string;
  scenario: string;
  label: string;
  value: number | null;
  unit: string;
  baseline?: { label: string; value: number | null };
  targets?: Target[];
  /** Why a figure is missing, or how to read it. */
  note?: string;
}

export interface TargetCheck {
  target: Target;
  /** The checked quantity divided by the threshold (for ≤ targets, ≤ 1 passes). */
  ratio: number | null;
  pass: boolean | null;
}

export interface EvaluatedFigure extends Figure {
  baselineRatio: number | null;
  checks: TargetCheck[];
}

export function evaluate(figure: Figure): EvaluatedFigure {
  const base = figure.baseline?.value;
  const baselineRatio = figure.value !== null && base !== null && base !== undefined && base > 0 ? figure.value / base : null;
  const checks = (figure.targets ?? []).map((target): TargetCheck => {
    const actual = target.on === 'value' ? figure.value : baselineRatio;
    if (actual === null || !Number.isFinite(actual)) return { target, ratio: null, pass: null };
    return { target, ratio: actual / target.threshold, pass: target.op === '>=' ? actual >= target.threshold : actual <= target.threshold };
  });
  return { ...figure, baselineRatio, checks };
}

/** A placeholder for a figure whose feature does not exist yet (never a guess). */
export function notMeasured(scenario: string, id: string, label: string, unit: string, why: string, targets?: Target[]): Figure {
  return { id, scenario, label, value: null, unit, note: `not yet measured (${why})`, ...(targets ? { targets } : {}) };
}

export function atLeast(threshold: number, on: Target['on'] = 'value'): Target {
  return { on, op: '>=', threshold };
}

export function atMost(threshold: number, on: Target['on'] = 'value'): Target {
  return { on, op: '<=', threshold };
}
