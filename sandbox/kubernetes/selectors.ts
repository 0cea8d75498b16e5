import { ApiError, isJsonObject, textOf, type KubeObject } from './objects';

/** One parsed term of a label selector (`app=web`, `tier in (a,b)`, `!canary`). */
type LabelRequirement =
  | { key: string; operator: 'equals' | 'notEquals'; value: string }
  | { key: string; operator: 'in' | 'notIn'; values: string[] }
  | { key: string; operator: 'exists' | 'doesNotExist' };

export type LabelSelector = (labels: Record<string, string>) => boolean;
export type FieldSelector = (object: KubeObject) => boolean;

/** Splits on commas that are not inside `( … )`. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function parseLabelRequirement(term: string): LabelRequirement {
  const setMatch = /^([^\s!=]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (setMatch !== null) {
    const values = (setMatch[3] ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    return { key: setMatch[1] ?? '', operator: setMatch[2] === 'in' ? 'in' : 'notIn', values };
  }
  const notEquals = /^([^\s!=]+)\s*!=\s*(.*)$/.exec(term);
  if (notEquals !== null)
    return { key: notEquals[1] ?? '', operator: 'notEquals', value: (notEquals[2] ?? '').trim() };
  const equals = /^([^\s!=]+)\s*==?\s*(.*)$/.exec(term);
  if (equals !== null) return { key: equals[1] ?? '', operator: 'equals', value: (equals[2] ?? '').trim() };
  const absent = /^!\s*([^\s!=]+)$/.exec(term);
  if (absent !== null) return { key: absent[1] ?? '', operator: 'doesNotExist' };
  if (/^[^\s!=(),]+$/.test(term)) return { key: term, operator: 'exists' };
  throw ApiError.badRequest(`unable to parse requirement: ${term}`);
}

function matchesRequirement(labels: Record<string, string>, requirement: LabelRequirement): boolean {
  const value = labels[requirement.key];
  switch (requirement.operator) {
    case 'equals':
      return value === requirement.value;
    case 'notEquals':
      return value !== requirement.value;
    case 'in':
      return value !== undefined && requirement.values.includes(value);
    case 'notIn':
      return value === undefined || !requirement.values.includes(value);
    case 'exists':
      return value !== undefined;
    case 'doesNotExist':
      return value === undefined;
  }
}

/** Parses a `labelSelector` query parameter; empty or absent selects everything. */
export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (text === null || text === undefined || text.trim() === '') return () => true;
  const requirements = splitTerms(text).map(parseLabelRequirement);
  return (labels) => requirements.every((r) => matchesRequirement(labels, r));
}

/** A `spec.selector` (matchLabels + matchExpressions) as a predicate. An empty selector matches everything. */
export function labelSelectorFromSpec(selector: unknown): LabelSelector {
  if (!isJsonObject(selector)) return () => true;
  const requirements: LabelRequirement[] = [];
  const matchLabels = isJsonObject(selector.matchLabels) ? selector.matchLabels : {};
  for (const [key, value] of Object.entries(matchLabels)) {
    requirements.push({ key, operator: 'equals', value: String(value) });
  }
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  for (const expression of expressions) {
    if (!isJsonObject(expression)) continue;
    const key = String(expression.key);
    const values = Array.isArray(expression.values) ? expression.values.map(String) : [];
    switch (expression.operator) {
      case 'In':
        requirements.push({ key, operator: 'in', values });
        break;
      case 'NotIn':
        requirements.push({ key, operator: 'notIn', values });
        break;
      case 'Exists':
        requirements.push({ key, operator: 'exists' });
        break;
      case 'DoesNotExist':
        requirements.push({ key, operator: 'doesNotExist' });
        break;
    }
  }
  return (labels) => requirements.every((r) => matchesRequirement(labels, r));
}

/** The value at a dotted path (`metadata.name`, `status.phase`, `involvedObject.uid`) as a string. */
function fieldValue(object: KubeObject, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (!isJsonObject(current)) return '';
    current = current[part];
  }
  return textOf(current);
}

/**
 * Parses a `fieldSelector`. Real servers allow only a few fields per type (metadata.name,
 * metadata.namespace, status.phase, spec.nodeName, involvedObject.*); the sandbox accepts any
 * dotted path, which is a superset.
 */
export function parseFieldSelector(text: string | null | undefined): FieldSelector {
  if (text === null || text === undefined || text.trim() === '') return () => true;
  const terms = splitTerms(text).map((term) => {
    const match = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (match === null) throw ApiError.badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    return { path: match[1] ?? '', negate: match[2] === '!=', value: (match[3] ?? '').trim() };
  });
  return (object) => terms.every((t) => (fieldValue(object, t.path) === t.value) !== t.negate);
}
