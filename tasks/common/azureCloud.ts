/** Where a cloud's services live: authority, ARM, and the data-plane suffixes and scopes. */
export interface AzureCloud {
  readonly name: string;
  /** Entra ID authority host, e.g. `https://login.microsoftonline.com`. */
  readonly authorityHost: string;
  /** ARM endpoint, with a trailing slash. */
  readonly resourceManagerUrl: string;
  /** Scope for ARM tokens. */
  readonly resourceManagerScope: string;
  /** DNS suffix of Key Vaults, e.g. `vault.azure.net`. */
  readonly keyVaultDnsSuffix: string | undefined;
  /** Resource (audience) of Key Vault tokens, e.g. `https://vault.azure.net`. */
  readonly keyVaultResource: string | undefined;
  /** DNS suffix of container registries, e.g. `azurecr.io`. */
  readonly containerRegistryDnsSuffix: string | undefined;
  /**
   * Scope of the Entra ID token that ACR's `/oauth2/exchange` takes. The public cloud has ACR's own
   * audience, which registries that refuse ARM-audience tokens (authentication-as-ARM disabled) still
   * accept; elsewhere the ARM audience, as @azure/container-registry's KnownContainerRegistryAudience.
   */
  readonly containerRegistryScope: string;
}

const KNOWN_CLOUDS: Readonly<Record<string, AzureCloud>> = {
  azurecloud: {
    name: 'AzureCloud',
    authorityHost: 'https://login.microsoftonline.com',
    resourceManagerUrl: 'https://management.azure.com/',
    resourceManagerScope: 'https://management.azure.com/.default',
    keyVaultDnsSuffix: 'vault.azure.net',
    keyVaultResource: 'https://vault.azure.net',
    containerRegistryDnsSuffix: 'azurecr.io',
    containerRegistryScope: 'https://containerregistry.azure.net/.default',
  },
  azurechinacloud: {
    name: 'AzureChinaCloud',
    authorityHost: 'https://login.chinacloudapi.cn',
    resourceManagerUrl: 'https://management.chinacloudapi.cn/',
    resourceManagerScope: 'https://management.chinacloudapi.cn/.default',
    keyVaultDnsSuffix: 'vault.azure.cn',
    keyVaultResource: 'https://vault.azure.cn',
    containerRegistryDnsSuffix: 'azurecr.cn',
    containerRegistryScope: 'https://management.chinacloudapi.cn/.default',
  },
  azureusgovernment: {
    name: 'AzureUSGovernment',
    authorityHost: 'https://login.microsoftonline.us',
    resourceManagerUrl: 'https://management.usgovcloudapi.net/',
    resourceManagerScope: 'https://management.usgovcloudapi.net/.default',
    keyVaultDnsSuffix: 'vault.usgovcloudapi.net',
    keyVaultResource: 'https://vault.usgovcloudapi.net',
    containerRegistryDnsSuffix: 'azurecr.us',
    containerRegistryScope: 'https://management.usgovcloudapi.net/.default',
  },
};

/** What an AzureRM service connection's data says about a custom cloud (Azure Stack and the like). */
export interface CustomCloudData {
  readonly environmentAuthorityUrl?: string | undefined;
  readonly resourceManagerUrl?: string | undefined;
  readonly activeDirectoryServiceEndpointResourceId?: string | undefined;
  readonly keyVaultDnsSuffix?: string | undefined;
  readonly keyVaultServiceEndpointResourceId?: string | undefined;
}

/**
 * The cloud for a connection's `environment`. Known clouds use our table, because the agent's data
 * for them carries legacy hosts (login.windows.net); any other name must bring its own endpoints.
 * Returns undefined when the environment is unknown and the data lacks an authority or ARM URL.
 */
export function resolveAzureCloud(
  environment: string | undefined,
  data: CustomCloudData,
): AzureCloud | undefined {
  const known = KNOWN_CLOUDS[(environment ?? 'AzureCloud').toLowerCase()];
  if (known !== undefined) return known;
  if (data.environmentAuthorityUrl === undefined || data.resourceManagerUrl === undefined) return undefined;
  const resourceManagerUrl = withTrailingSlash(data.resourceManagerUrl);
  const audience = data.activeDirectoryServiceEndpointResourceId ?? resourceManagerUrl;
  const resourceManagerScope = `${withoutTrailingSlash(audience)}/.default`;
  return {
    name: environment ?? 'custom',
    authorityHost: withoutTrailingSlash(data.environmentAuthorityUrl),
    resourceManagerUrl,
    resourceManagerScope,
    keyVaultDnsSuffix: data.keyVaultDnsSuffix?.replace(/^\./, ''),
    keyVaultResource: data.keyVaultServiceEndpointResourceId?.replace(/\/+$/, ''),
    containerRegistryDnsSuffix: undefined,
    containerRegistryScope: resourceManagerScope,
  };
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
