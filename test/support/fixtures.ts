import type { EndpointDefinition } from '../../scripts/agentEnvironment';

export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const CLIENT_ID = '0b6c3f0e-7d7e-4a59-9a8e-3c1d7c6b2a10';
export const SUBSCRIPTION_ID = 'c3a5e8f0-1d2b-4c6a-9e7f-0a1b2c3d4e5f';
export const CLIENT_SECRET = 'sp-secret-Zq8~x1Vt9';

/** An AzureRM connection with a service principal and secret, as the agent passes it. */
export function servicePrincipalEndpoint(overrides: Partial<EndpointDefinition> = {}): EndpointDefinition {
  return {
    url: 'https://management.azure.com/',
    scheme: 'ServicePrincipal',
    auth: {
      tenantid: TENANT_ID,
      serviceprincipalid: CLIENT_ID,
      serviceprincipalkey: CLIENT_SECRET,
      authenticationType: 'spnKey',
    },
    data: { environment: 'AzureCloud', subscriptionId: SUBSCRIPTION_ID, subscriptionName: 'Contoso' },
    ...overrides,
  };
}
