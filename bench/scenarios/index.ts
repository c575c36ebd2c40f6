/**
 * Every scenario, in the order they run: baselines before what is compared against them,
 * the cheap before the long. A new scenario is one module here.
 */
import type { Scenario } from '../lib/scenario.ts';
import { baselineHttp } from './baseline-http.ts';
import { baselineSqlite } from './baseline-sqlite.ts';
import { ingestBatched } from './ingest-batched.ts';
import { ingestFiltered } from './ingest-filtered.ts';
import { forwarding } from './forwarding.ts';
import { ingestSingle } from './ingest-single.ts';
import { latencyHalfLoad } from './latency-half-load.ts';
import { memory } from './memory.ts';
import { postgres } from './postgres.ts';
import { proofs } from './proofs.ts';
import { search } from './search.ts';
import { verify } from './verify.ts';

export const SCENARIOS: readonly Scenario[] = [baselineSqlite, baselineHttp, ingestBatched, ingestFiltered, ingestSingle, latencyHalfLoad, memory, forwarding, proofs, verify, search, postgres];
