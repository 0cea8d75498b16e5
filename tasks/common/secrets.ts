import * as tl from 'azure-pipelines-task-lib/task';
import { withoutEcho } from './taskLibEcho';

/**
 * The forms of a secret that could appear in a log, and nothing more, so masking does not blank
 * ordinary words out of the whole job's log:
 * - the value itself, and each of its lines (the agent masks line by line; lines end at \n, \r\n
 *   or a lone \r), and its JSON-escaped form;
 * - in a JSON value, the strings under secret-like keys (`password`, `clientSecret`, `sasToken`,
 *   `connectionString`, …), which tools print on their own; not `region: westeurope`;
 * - in a PEM value, every line but the certificates and public keys, which are public, and the
 *   `-----BEGIN …-----` markers.
 * Forms shorter than three characters are not worth masking: they would blank out ordinary log
 * text and protect nothing.
 */
export function secretForms(value: string): string[] {
  const forms = new Set<string>();
  const add = (form: string): void => {
    if (form.trim().length >= 3 && !/[\r\n]/.test(form)) forms.add(form);
  };
  add(value);
  const lines = value.split(/\r\n|\r|\n/);
  if (lines.length > 1) {
    for (const line of withoutPublicPem(lines)) add(line.trim());
    const escaped = JSON.stringify(value).slice(1, -1);
    add(escaped);
  } else {
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) add(escaped);
  }
  for (const leaf of secretJsonLeaves(value)) add(leaf);
  return [...forms];
}

/**
 * The values of the pipeline's secret variables, as the agent hands them to a task (task-lib reads
 * their names from VSTS_SECRET_VARIABLES and their values from SECRET_*). The agent masks them in
 * the log, but not in files a task attaches: those are uploaded as they are.
 */
export function agentSecretVariableValues(): string[] {
  return withoutEcho(() => tl.getVariables())
    .filter((variable) => variable.secret && typeof variable.value === 'string' && variable.value !== '')
    .map((variable) => variable.value);
}

/**
 * `text` with every form of each value (see secretForms) replaced by `***`, longest first: for a file
 * the agent uploads without masking it (an attachment, a run summary).
 */
export function maskSecrets(text: string, values: readonly string[]): string {
  const forms = [...new Set(values.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  let masked = text;
  for (const form of forms) masked = masked.split(form).join('***');
  return masked;
}

/** Registers every form of `value` with the agent, so it is masked as *** in all later output. */
export function registerSecret(value: string): void {
  for (const form of secretForms(value)) {
    tl.setSecret(form);
  }
}

const PEM_MARKER = /^-----(BEGIN|END) ([A-Z0-9 ]+)-----$/;

/**
 * The lines of a value less what PEM makes public: `-----BEGIN …-----` markers and the lines of
 * certificate and public-key blocks. Everything else, private keys of every kind included, stays.
 */
function withoutPublicPem(lines: readonly string[]): string[] {
  const kept: string[] = [];
  let inPublicBlock = false;
  for (const line of lines) {
    const marker = PEM_MARKER.exec(line.trim());
    if (marker !== null) {
      const label = marker[2] ?? '';
      inPublicBlock =
        marker[1] === 'BEGIN' && (label.includes('CERTIFICATE') || label.includes('PUBLIC KEY'));
      continue;
    }
    if (!inPublicBlock) kept.push(line);
  }
  return kept;
}

const SECRET_LIKE_KEY =
  /pass|pwd|secret|token|key|credential|connection.?string|private|signature|sas|auth|cert/i;

/** Strings in a JSON value whose key (or an enclosing key) sounds like a secret. */
function secretJsonLeaves(text: string): string[] {
  const trimmed = text.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return [];
  }
  const leaves: string[] = [];
  const walk = (node: unknown, underSecretKey: boolean): void => {
    if (typeof node === 'string') {
      if (underSecretKey) leaves.push(node);
    } else if (Array.isArray(node)) {
      for (const item of node) walk(item, underSecretKey);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node))
        walk(child, underSecretKey || SECRET_LIKE_KEY.test(key));
    }
  };
  walk(parsed, false);
  return leaves;
}
