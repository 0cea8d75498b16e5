/** A service connection as the agent hands it to a task. */
export interface EndpointDefinition {
  readonly url?: string;
  /** e.g. `ServicePrincipal`, `WorkloadIdentityFederation`, `ManagedServiceIdentity`, `Kubeconfig`. */
  readonly scheme: string;
  readonly auth?: Readonly<Record<string, string>>;
  readonly data?: Readonly<Record<string, string>>;
}

/** What the agent hands a task: inputs, service connections and variables. */
export interface AgentInputs {
  readonly inputs?: Readonly<Record<string, string>>;
  readonly endpoints?: Readonly<Record<string, EndpointDefinition>>;
  readonly variables?: Readonly<Record<string, string>>;
  readonly secretVariables?: Readonly<Record<string, string>>;
}

/**
 * The environment variables through which the agent passes inputs, service connections and
 * variables to a task (see the agent's handler code): `INPUT_<NAME>`, `ENDPOINT_*_<id>`, and
 * variables with dots turned into underscores, upper-cased.
 */
export function agentEnvironment(options: AgentInputs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    env[`INPUT_${name.replace(/[. ]/g, '_').toUpperCase()}`] = value;
  }
  for (const [id, endpoint] of Object.entries(options.endpoints ?? {})) {
    if (endpoint.url !== undefined) env[`ENDPOINT_URL_${id}`] = endpoint.url;
    env[`ENDPOINT_AUTH_SCHEME_${id}`] = endpoint.scheme;
    env[`ENDPOINT_AUTH_${id}`] = JSON.stringify({ scheme: endpoint.scheme, parameters: endpoint.auth ?? {} });
    for (const [key, value] of Object.entries(endpoint.auth ?? {})) {
      env[`ENDPOINT_AUTH_PARAMETER_${id}_${key.toUpperCase()}`] = value;
    }
    for (const [key, value] of Object.entries(endpoint.data ?? {})) {
      env[`ENDPOINT_DATA_${id}_${key.toUpperCase()}`] = value;
    }
  }
  for (const [name, value] of Object.entries(options.variables ?? {})) {
    env[variableEnvironmentName(name)] = value;
  }
  for (const [name, value] of Object.entries(options.secretVariables ?? {})) {
    env[`SECRET_${variableEnvironmentName(name)}`] = value;
  }
  // The names, as the agent lists them: task-lib's getVariables() knows the variables from these.
  env['VSTS_PUBLIC_VARIABLES'] = JSON.stringify(Object.keys(options.variables ?? {}));
  env['VSTS_SECRET_VARIABLES'] = JSON.stringify(Object.keys(options.secretVariables ?? {}));
  return env;
}

export function variableEnvironmentName(name: string): string {
  return name.replace(/[. ]/g, '_').toUpperCase();
}
