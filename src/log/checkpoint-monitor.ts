/**
 * `veritrail verify --server`: checks that a server's current checkpoint is signed by the
 * expected key and consistent with the one seen last time (kept in a small state file), the
 * way a witness does. A server that rewrote history, or rolled it back, fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCheckpoint, type Checkpoint } from './checkpoint.ts';
import { verifyConsistency } from './merkle.ts';
import { openNote, parseVerifierKey, type NoteVerifier } from './signed-note.ts';

export interface MonitorState {
  [logKey: string]: { size: number; root: string; checkedAt: string };
}

export interface MonitorResult {
  ok: boolean;
  previous?: { size: number };
  current?: Checkpoint;
  problem?: string;
}

export interface MonitorOptions {
  server: string;
  projectId: string;
  apiKey?: string;
  /** Verifier key text; fetched from the server (trust on first use) when absent. */
  vkey?: string;
  stateFile: string;
  fetch?: typeof fetch;
}

export async function monitorCheckpoint(options: MonitorOptions): Promise<MonitorResult> {
  const doFetch = options.fetch ?? fetch;
  const base = options.server.replace(/\/+$/, '');
  const headers: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  const get = async (url: string): Promise<Response> => {
    const response = await doFetch(base + url, { headers });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    return response;
  };

  const state = readState(options.stateFile);
  const stateKey = `${base} ${options.projectId}`;
  const seen = state[stateKey];
  let verifier: NoteVerifier;
  try {
    verifier = parseVerifierKey(options.vkey ?? ((await (await get('/v1/log/key')).json()) as { vkey: string }).vkey);
  } catch (error) {
    return { ok: false, problem: `couldn't get the verifier key: ${(error as Error).message}` };
  }
  let current: Checkpoint;
  try {
    const note = await (await get(`/v1/projects/${options.projectId}/log/checkpoint`)).text();
    current = parseCheckpoint(openNote(note, [verifier]));
  } catch (error) {
    return { ok: false, problem: `the current checkpoint does not verify: ${(error as Error).message}` };
  }
  const previous = seen ? { size: seen.size } : undefined;
  if (seen) {
    const oldRoot = Buffer.from(seen.root, 'base64');
    if (current.size < seen.size) return { ok: false, previous, current, problem: `the log shrank from ${seen.size} to ${current.size} entries` };
    let proof: Buffer[] = [];
    if (current.size > seen.size && seen.size > 0) {
      try {
        const body = (await (await get(`/v1/projects/${options.projectId}/log/proof/consistency?from=${seen.size}&to=${current.size}`)).json()) as { hashes: string[] };
        proof = body.hashes.map((h) => Buffer.from(h, 'base64'));
      } catch (error) {
        return { ok: false, previous, current, problem: `couldn't get a consistency proof: ${(error as Error).message}` };
      }
    }
    if (!verifyConsistency(seen.size, current.size, oldRoot, current.root, proof)) {
      return { ok: false, previous, current, problem: `checkpoint ${current.size} is not consistent with checkpoint ${seen.size} seen before` };
    }
  }
  state[stateKey] = { size: current.size, root: current.root.toString('base64'), checkedAt: new Date().toISOString() };
  writeState(options.stateFile, state);
  return { ok: true, previous, current };
}

function readState(file: string): MonitorState {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as MonitorState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`couldn't read the state file ${file}: ${(error as Error).message}`);
  }
}

function writeState(file: string, state: MonitorState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(temporary, file);
}
