import { userError } from './messages';
import type { SecretRequest } from './inputs';

/** The pipeline variables one secret sets. */
export interface VariableAssignment {
  readonly secretName: string;
  readonly variableNames: readonly string[];
}

/**
 * `db-password` → `DB_PASSWORD`: a name shells and `$(…)` macros can both use. Anything but
 * letters, digits and `_` becomes `_`; a leading digit gets a `_` before it.
 */
export function envSafeName(name: string): string {
  const upper = name.replace(/[^A-Za-z0-9_]/g, '_').toUpperCase();
  return /^[0-9]/.test(upper) ? `_${upper}` : upper;
}

/**
 * The variables to set, one entry per secret. Pipeline variable names are case-insensitive, so two
 * names that differ only in case collide; any collision fails before anything is set.
 */
export function planVariables(
  requests: readonly SecretRequest[],
  withEnvSafeAliases: boolean,
): VariableAssignment[] {
  const owner = new Map<string, string>();
  const claim = (variableName: string, secretName: string): boolean => {
    const key = variableName.toLowerCase();
    const existing = owner.get(key);
    if (existing === undefined) {
      owner.set(key, secretName);
      return true;
    }
    if (existing === secretName) return false;
    throw userError('VariableCollision', existing, secretName, variableName);
  };

  const assignments = new Map<string, string[]>();
  for (const { secretName, variableName } of requests) {
    const names = assignments.get(secretName) ?? [];
    if (!claim(variableName, secretName)) throw userError('DuplicateVariable', variableName);
    names.push(variableName);
    assignments.set(secretName, names);
  }
  // Aliases come second, so an explicit name always wins the error message over an alias.
  if (withEnvSafeAliases) {
    for (const [secretName, names] of assignments) {
      for (const alias of new Set(names.map(envSafeName))) {
        if (!names.some((name) => name.toLowerCase() === alias.toLowerCase()) && claim(alias, secretName))
          names.push(alias);
      }
    }
  }
  return [...assignments].map(([secretName, variableNames]) => ({ secretName, variableNames }));
}
