import * as tl from 'azure-pipelines-task-lib/task';
import type { ConcurrencyLimit } from '../common/concurrency';
import { loc, userError, type MessageKey } from './messages';
import {
  readAllSecrets,
  readNamedSecrets,
  type FetchOutcome,
  type SecretReader,
  type SkipReason,
} from './readVault';
import type { FetchKeyVaultSecretsInputs, SecretRequest } from './inputs';
import { explainKeyVaultError } from './keyVaultErrors';
import { planVariables, type VariableAssignment } from './variableNames';

/** How a reason reads inside the SecretsUnavailable message. */
const REASON_TEXT: Readonly<Record<SkipReason, string>> = {
  disabled: 'disabled',
  expired: 'expired',
  notYetValid: 'not yet valid',
  missing: 'not found',
};

const SKIP_MESSAGE: Readonly<Record<SkipReason, MessageKey>> = {
  disabled: 'SkippedDisabled',
  expired: 'SkippedExpired',
  notYetValid: 'SkippedNotYetValid',
  missing: 'SkippedMissing',
};

/**
 * Fetches the selected secrets and sets them as secret variables. Every value is registered with
 * the agent as soon as it arrives (readVault.ts); no variable is set unless every check passed.
 */
export async function fetchKeyVaultSecrets(
  inputs: FetchKeyVaultSecretsInputs,
  client: SecretReader,
  limit: ConcurrencyLimit,
  now = new Date(),
): Promise<void> {
  const { selection } = inputs;
  const options = { limit, now };
  // Named secrets: a collision is known before anything is fetched.
  const namedPlan =
    selection.kind === 'named' ? planVariables(selection.requests, inputs.envSafeNames) : undefined;

  let outcome: FetchOutcome;
  try {
    outcome =
      selection.kind === 'all'
        ? await readAllSecrets(client, options)
        : await readNamedSecrets(
            client,
            selection.requests.map((r) => r.secretName),
            options,
          );
  } catch (error: unknown) {
    throw explainKeyVaultError(error, inputs.vaultUrl, inputs.connection, inputs.concurrency);
  }

  if (selection.kind === 'named' && inputs.failOnMissing && outcome.skipped.length > 0) {
    throw userError(
      'SecretsUnavailable',
      outcome.skipped.map((s) => `${s.name} (${REASON_TEXT[s.reason]})`).join(', '),
    );
  }
  const fetchedNames = new Set(outcome.fetched.map((secret) => secret.name));
  const plan: VariableAssignment[] =
    namedPlan?.filter((assignment) => fetchedNames.has(assignment.secretName)) ??
    planVariables(
      outcome.fetched.map((secret): SecretRequest => ({
        secretName: secret.name,
        variableName: secret.name,
      })),
      inputs.envSafeNames,
    );

  // The agent refuses multi-line secret variables unless the pipeline opts in; say so up front
  // rather than fail half-way through setting variables.
  const multiLine = outcome.fetched
    .filter((secret) => /[\r\n]/.test(secret.value))
    .map((secret) => secret.name);
  if (multiLine.length > 0 && !inputs.allowMultilineSecrets) {
    throw userError('MultilineSecretNotAllowed', multiLine.join(', '));
  }

  for (const skipped of outcome.skipped) tl.warning(loc(SKIP_MESSAGE[skipped.reason], skipped.name));
  const values = new Map(outcome.fetched.map((secret) => [secret.name, secret.value]));
  for (const { secretName, variableNames } of plan) {
    const value = values.get(secretName) ?? '';
    if (value === '') tl.warning(loc('EmptySecret', secretName));
    for (const variableName of variableNames) tl.setVariable(variableName, value, true);
    console.log(loc('SecretSet', secretName, variableNames.join(', ')));
  }
  console.log(loc('Summary', plan.length, outcome.skipped.length));
}
