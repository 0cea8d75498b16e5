import * as tl from 'azure-pipelines-task-lib/task';

/**
 * The forms of a secret that could appear in a log: the value, each of its lines (the agent masks
 * line by line), its JSON-escaped form, and for a JSON object or array every string inside it
 * (tools print parts of JSON secrets). Forms shorter than three characters are not worth masking:
 * they would blank out ordinary log text and protect nothing.
 */
export function secretForms(value: string): string[] {
  const forms = new Set<string>();
  // The agent masks line by line and refuses a multi-line secret, so only single lines are forms.
  const add = (form: string): void => {
    if (form.trim().length >= 3 && !/[\r\n]/.test(form)) forms.add(form);
  };
  add(value);
  for (const line of value.split(/\r?\n/)) add(line.trim());
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) add(escaped);
  for (const leaf of jsonStringLeaves(value)) add(leaf);
  return [...forms];
}

/** Registers every form of `value` with the agent, so it is masked as *** in all later output. */
export function registerSecret(value: string): void {
  for (const form of secretForms(value)) {
    tl.setSecret(form);
  }
}

function jsonStringLeaves(text: string): string[] {
  const trimmed = text.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return [];
  }
  const leaves: string[] = [];
  const walk = (node: unknown): void => {
    if (typeof node === 'string') leaves.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(parsed);
  return leaves;
}
