import * as tl from 'azure-pipelines-task-lib/task';
import { SecretClient } from '@azure/keyvault-secrets';
import { createCredential } from '../common/credential';
import { userError } from '../common/errors';
import { azureClientOptions } from '../common/httpOptions';
import { registerSecret } from '../common/secrets';
import {
  fetchAllSecrets,
  fetchNamedSecrets,
  type FetchOutcome,
  type SecretReader,
  type SkipReason,
} from './fetch';
import type { FetchKeyVaultSecretsInputs, SecretRequest } from './inputs';
import { explainKeyVaultError } from './keyVaultErrors';
import { planVariables, type VariableAssignment } from './variables';

/** How a reason reads inside the SecretsUnavailable message. */
const REASON_TEXT: Readonly<Record<SkipReason, string>> = {
  disabled: 'disabled',
  expired: 'expired',
  notYetValid: 'not yet valid',
  missing: 'not found',
};

const SKIP_MESSAGE: Readonly<Record<SkipReason, string>> = {
  disabled: 'SkippedDisabled',
  expired: 'SkippedExpired',
  notYetValid: 'SkippedNotYetValid',
  missing: 'SkippedMissing',
};

export function createSecretClient(inputs: FetchKeyVaultSecretsInputs): SecretClient {
  return new SecretClient(inputs.vaultUrl, createCredential(inputs.connection), {
    ...azureClientOptions(inputs.vaultUrl),
    // 429 and 5xx are retried by the SDK's own policy, which honours Retry-After; a few more
    // tries than its default ride out a throttled vault.
    retryOptions: { maxRetries: 6, retryDelayInMs: 400, maxRetryDelayInMs: 10_000 },
  });
}

/**
 * Fetches the selected secrets and sets them as secret variables. Every value is registered with
 * the agent as soon as it arrives; no variable is set unless every check passed.
 */
export async function fetchKeyVaultSecrets(
  inputs: FetchKeyVaultSecretsInputs,
  client: SecretReader,
  now = new Date(),
): Promise<void> {
  const { selection } = inputs;
  const options = { concurrency: inputs.concurrency, now };
  // Named secrets: a collision is known before anything is fetched.
  const namedPlan =
    selection.kind === 'named' ? planVariables(selection.requests, inputs.envSafeNames) : undefined;

  let outcome: FetchOutcome;
  try {
    outcome =
      selection.kind === 'all'
        ? await fetchAllSecrets(client, options)
        : await fetchNamedSecrets(
            client,
            selection.requests.map((r) => r.secretName),
            options,
          );
  } catch (error: unknown) {
    throw explainKeyVaultError(error, inputs.vaultUrl, inputs.connection);
  }
  for (const secret of outcome.fetched) registerSecret(secret.value);

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
  if (multiLine.length > 0 && tl.getVariable('System.UnsafeAllowMultilineSecret')?.toLowerCase() !== 'true') {
    throw userError('MultilineSecretNotAllowed', multiLine.join(', '));
  }

  for (const skipped of outcome.skipped) tl.warning(tl.loc(SKIP_MESSAGE[skipped.reason], skipped.name));
  const values = new Map(outcome.fetched.map((secret) => [secret.name, secret.value]));
  for (const { secretName, variableNames } of plan) {
    const value = values.get(secretName) ?? '';
    if (value === '') tl.warning(tl.loc('EmptySecret', secretName));
    for (const variableName of variableNames) tl.setVariable(variableName, value, true);
    console.log(tl.loc('SecretSet', secretName, variableNames.join(', ')));
  }
  console.log(tl.loc('Summary', plan.length, outcome.skipped.length));
}
