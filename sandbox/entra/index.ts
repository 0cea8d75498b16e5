import * as crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxBase } from '../base';
import { withFaults } from '../faults';
import {
  pathOf,
  queryOf,
  readBody,
  sendJson,
  startHttpsServer,
  type RequestHandler,
  type RunningServer,
} from '../httpsServer';
import { decodeJwt, signJwt, verifyRsaSignature, type DecodedJwt } from '../jwt';
import type { ServiceOptions, SandboxService } from '../service';
import type { KeyPair } from '../tls/certificateAuthority';

export const ENTRA_HOST = 'login.microsoftonline.com';
export const AZURE_DEVOPS_TOKEN_HOST = 'vstoken.dev.azure.com';
/** The audience Azure DevOps puts in the OIDC tokens of service connections. */
export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

export interface ServicePrincipalRegistration {
  readonly clientId: string;
  readonly secret?: string;
  /** The certificate (and key, unused here) the app authenticates with; RSA. */
  readonly certificate?: KeyPair;
  /** Defaults to a random GUID. */
  readonly objectId?: string;
  /** The `sub` of the federated credential (see `registerFederation`). */
  readonly federatedSubject?: string;
}

export interface ServicePrincipal {
  readonly clientId: string;
  readonly objectId: string;
}

export interface Federation {
  readonly serviceConnectionId: string;
  /** `sub` of the OIDC tokens issued for the service connection: give it to a service principal. */
  readonly subject: string;
}

export interface ManagedIdentity {
  readonly clientId: string;
  readonly objectId: string;
}

export type ClientAuthentication = 'secret' | 'certificate' | 'federated' | 'managedIdentity' | 'none';

/** One token request, as a test would want to assert on it. */
export interface TokenRequestRecord {
  readonly tenant: string;
  readonly grantType: string;
  readonly clientId: string | undefined;
  readonly scope: string | undefined;
  readonly clientAuthentication: ClientAuthentication;
  readonly status: number;
  /** The AADSTS code when rejected. */
  readonly errorCode?: number;
}

export interface OidcRequestRecord {
  readonly serviceConnectionId: string | undefined;
  readonly apiVersion: string | undefined;
  readonly status: number;
}

export interface EntraServer extends RunningServer, SandboxService {
  readonly tenantId: string;
  /** The value of SYSTEM_OIDCREQUESTURI for AzurePipelinesCredential. */
  readonly oidcRequestUri: string;
  /** `iss` of the OIDC tokens (an Azure DevOps organisation). */
  readonly oidcIssuer: string;
  registerServicePrincipal(registration: ServicePrincipalRegistration): ServicePrincipal;
  /** Lets the OIDC endpoint issue tokens for `serviceConnectionId` to callers presenting `systemAccessToken`. */
  registerFederation(serviceConnectionId: string, systemAccessToken: string): Federation;
  registerManagedIdentity(identity: { clientId: string; objectId?: string }): ManagedIdentity;
  /**
   * IDENTITY_ENDPOINT / IDENTITY_HEADER (App Service style) for ManagedIdentityCredential. The
   * endpoint is `https://127.0.0.1:<port>`, reached directly (NO_PROXY), not through the proxy.
   */
  readonly managedIdentityEnvironment: Readonly<{ IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string }>;
  /** Every token request (client credentials and managed identity), in order. */
  readonly requests: readonly TokenRequestRecord[];
  /** Every call of the Azure DevOps OIDC endpoint, in order. */
  readonly oidcRequests: readonly OidcRequestRecord[];
}

interface StoredServicePrincipal extends ServicePrincipal {
  readonly secret?: string;
  readonly certificate?: crypto.X509Certificate;
  readonly federatedSubject?: string;
}

interface TokenGrant {
  readonly clientId: string;
  readonly objectId: string;
}

/** An Entra ID rejection: status, OAuth error, AADSTS code, description. */
class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    readonly description: string,
  ) {
    super(`AADSTS${code}: ${description}`);
  }
}

export type EntraOptions = Pick<ServiceOptions, 'faults' | 'listen'>;

/**
 * Microsoft Entra ID's token endpoint (client credentials with a secret, a certificate assertion or
 * a federated token), the discovery documents MSAL fetches first, the Azure DevOps OIDC endpoint
 * that AzurePipelinesCredential calls, and an App Service style managed identity endpoint.
 */
export async function startEntra(base: SandboxBase, options: EntraOptions = {}): Promise<EntraServer> {
  const tenantId = base.tenantId;
  const organizationId = crypto.randomUUID();
  const projectId = crypto.randomUUID();
  const oidcIssuer = `https://${AZURE_DEVOPS_TOKEN_HOST}/${organizationId}`;
  const oidcPath = `/${organizationId}/${projectId}/_apis/distributedtask/hubs/build/plans/${crypto.randomUUID()}/jobs/${crypto.randomUUID()}/oidctoken`;
  const oidcSigningKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const managedIdentityHeader = crypto.randomBytes(16).toString('hex');

  const servicePrincipals = new Map<string, StoredServicePrincipal>();
  const federations = new Map<string, { systemAccessToken: string; subject: string }>();
  const managedIdentities = new Map<string, ManagedIdentity>();
  const requests: TokenRequestRecord[] = [];
  const oidcRequests: OidcRequestRecord[] = [];

  const tokenEndpoint = (tenant: string): string => `https://${ENTRA_HOST}/${tenant}/oauth2/v2.0/token`;

  const mintAccessToken = (resource: string, grant: TokenGrant): string =>
    base.tokens.mint({ aud: resource, tid: tenantId, appid: grant.clientId, oid: grant.objectId });

  // --- client authentication -------------------------------------------------------------------

  const findServicePrincipal = (clientId: string | undefined): StoredServicePrincipal => {
    const principal = clientId === undefined ? undefined : servicePrincipals.get(clientId.toLowerCase());
    if (principal === undefined) {
      throw new EntraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId ?? ''}' was not found in the directory 'Sandbox'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    return principal;
  };

  const authenticateWithSecret = (principal: StoredServicePrincipal, secret: string): void => {
    if (principal.secret === undefined || !constantTimeEquals(principal.secret, secret)) {
      throw new EntraError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${principal.clientId}'.`,
      );
    }
  };

  const authenticateWithCertificate = (
    principal: StoredServicePrincipal,
    assertion: DecodedJwt,
    tenant: string,
  ): void => {
    const certificate = principal.certificate;
    const presented = presentedThumbprint(assertion.header);
    const registered = certificate === undefined ? undefined : thumbprintsOf(certificate);
    if (
      certificate === undefined ||
      registered === undefined ||
      presented === undefined ||
      registered[presented.algorithm] !== presented.hex
    ) {
      throw new EntraError(
        401,
        'invalid_client',
        700027,
        `Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '${presented?.hex.toUpperCase() ?? ''}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${principal.clientId}'.]`,
      );
    }
    if (!verifyRsaSignature(assertion, certificate.publicKey)) {
      throw new EntraError(
        401,
        'invalid_client',
        700027,
        `Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '${presented.hex.toUpperCase()}']`,
      );
    }
    const audience = assertion.payload.aud;
    const acceptedAudiences = [tokenEndpoint(tenant), `https://${ENTRA_HOST}/${tenant}/oauth2/token`];
    if (typeof audience !== 'string' || !acceptedAudiences.includes(audience)) {
      throw new EntraError(
        401,
        'invalid_client',
        50012,
        `Client assertion audience claim does not match Realm issuer. Audience: '${String(audience)}'.`,
      );
    }
    if (assertion.payload.iss !== principal.clientId || assertion.payload.sub !== principal.clientId) {
      throw new EntraError(
        401,
        'invalid_client',
        50012,
        `Client assertion issuer and subject must both be the application id '${principal.clientId}'.`,
      );
    }
    requireValidTimes(assertion);
  };

  const authenticateWithFederatedToken = (principal: StoredServicePrincipal, assertion: DecodedJwt): void => {
    const { iss, sub, aud } = assertion.payload;
    const signatureValid =
      assertion.header.alg === 'RS256' && verifyRsaSignature(assertion, oidcSigningKey.publicKey);
    if (!signatureValid) {
      throw new EntraError(
        401,
        'invalid_client',
        700027,
        'Client assertion failed signature validation. [Reason - The key was not found.]',
      );
    }
    requireValidTimes(assertion);
    if (principal.federatedSubject !== sub || iss !== oidcIssuer || aud !== FEDERATION_AUDIENCE) {
      throw new EntraError(
        401,
        'invalid_client',
        700213,
        `No matching federated identity record found for presented assertion subject '${String(sub)}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
      );
    }
  };

  /** Authenticates the client of a client-credentials request the way `kind` says it tries to. */
  const authenticateClient = (
    form: URLSearchParams,
    tenant: string,
    kind: ClientAuthentication,
  ): StoredServicePrincipal => {
    const principal = findServicePrincipal(form.get('client_id') ?? undefined);
    const assertion = decodeJwt(form.get('client_assertion') ?? '');
    switch (kind) {
      case 'secret':
        authenticateWithSecret(principal, form.get('client_secret') ?? '');
        return principal;
      case 'certificate':
      case 'federated':
        if (assertion === undefined)
          throw new EntraError(400, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
        if (kind === 'certificate') authenticateWithCertificate(principal, assertion, tenant);
        else authenticateWithFederatedToken(principal, assertion);
        return principal;
      default:
        throw new EntraError(
          401,
          'invalid_client',
          7000218,
          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }
  };

  // --- endpoints ------------------------------------------------------------------------------

  const handleToken = async (
    request: IncomingMessage,
    response: ServerResponse,
    tenant: string,
  ): Promise<void> => {
    const form = new URLSearchParams((await readBody(request)).toString('utf8'));
    const grantType = form.get('grant_type') ?? '';
    const scope = form.get('scope') ?? undefined;
    const record = (status: number, kind: ClientAuthentication, errorCode?: number): void =>
      void requests.push({
        tenant,
        grantType,
        clientId: form.get('client_id') ?? undefined,
        scope,
        clientAuthentication: kind,
        status,
        ...(errorCode === undefined ? {} : { errorCode }),
      });
    const kind = clientAuthenticationOf(form);
    try {
      if (tenant.toLowerCase() !== tenantId.toLowerCase()) {
        throw new EntraError(
          400,
          'invalid_request',
          90002,
          `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        );
      }
      if (grantType !== 'client_credentials') {
        throw new EntraError(
          400,
          'unsupported_grant_type',
          70003,
          `The app requested an unsupported grant type '${grantType}'.`,
        );
      }
      const principal = authenticateClient(form, tenant, kind);
      const accessToken = mintAccessToken(resourceOfScope(scope), principal);
      record(200, kind);
      sendJson(response, 200, {
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: accessToken,
      });
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      record(error.status, kind, error.code);
      sendEntraError(request, response, error);
    }
  };

  const handleManagedIdentity = (request: IncomingMessage, response: ServerResponse): void => {
    const query = queryOf(request);
    const resource = query.get('resource') ?? '';
    const clientId = query.get('client_id') ?? undefined;
    const record = (status: number): void =>
      void requests.push({
        tenant: tenantId,
        grantType: 'managed_identity',
        clientId,
        scope: resource,
        clientAuthentication: 'managedIdentity',
        status,
      });
    if (request.headers['x-identity-header'] !== managedIdentityHeader) {
      record(401);
      sendJson(response, 401, {
        statusCode: 401,
        message: 'Unauthorized request: X-IDENTITY-HEADER is missing or wrong.',
      });
      return;
    }
    const identity =
      clientId === undefined
        ? managedIdentities.values().next().value
        : managedIdentities.get(clientId.toLowerCase());
    if (identity === undefined || resource === '') {
      record(400);
      sendJson(response, 400, {
        statusCode: 400,
        message: 'No managed identity found for the specified client_id, or no resource given.',
        correlationId: crypto.randomUUID(),
      });
      return;
    }
    record(200);
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    sendJson(response, 200, {
      access_token: mintAccessToken(resource.replace(/\/\.default$/, ''), identity),
      expires_on: String(expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    });
  };

  const handleOidcToken = (request: IncomingMessage, response: ServerResponse): void => {
    const query = queryOf(request);
    const serviceConnectionId = query.get('serviceConnectionId') ?? undefined;
    const record = (status: number): void =>
      void oidcRequests.push({
        serviceConnectionId,
        apiVersion: query.get('api-version') ?? undefined,
        status,
      });
    const federation =
      serviceConnectionId === undefined ? undefined : federations.get(serviceConnectionId.toLowerCase());
    const bearer = (request.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    if (federation === undefined || !constantTimeEquals(federation.systemAccessToken, bearer)) {
      // Azure DevOps answers an unknown token the same way as an unknown service connection.
      record(401);
      sendJson(
        response,
        401,
        azureDevOpsError(`TF400813: The user '' is not authorized to access this resource.`),
      );
      return;
    }
    record(200);
    const now = Math.floor(Date.now() / 1000);
    const oidcToken = signJwt(
      {
        iss: oidcIssuer,
        sub: federation.subject,
        aud: FEDERATION_AUDIENCE,
        iat: now,
        nbf: now,
        exp: now + 600,
      },
      { alg: 'RS256', privateKey: oidcSigningKey.privateKey },
      { kid: 'sandbox-azure-devops' },
    );
    sendJson(response, 200, { oidcToken });
  };

  const handler: RequestHandler = async (request, response) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const path = pathOf(request);
    if (host === AZURE_DEVOPS_TOKEN_HOST || host.endsWith(`.${AZURE_DEVOPS_TOKEN_HOST}`)) {
      if (request.method === 'POST' && path === oidcPath) return handleOidcToken(request, response);
      sendJson(
        response,
        404,
        azureDevOpsError(
          `VS800075: The project with id '${path}' does not exist, or you do not have permission to access it.`,
        ),
      );
      return;
    }
    if (request.method === 'GET' && path === '/msi/token') return handleManagedIdentity(request, response);
    if (request.method === 'GET' && path === '/common/discovery/instance')
      return sendInstanceDiscovery(request, response);
    const configuration = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (request.method === 'GET' && configuration?.[1] !== undefined) {
      sendJson(response, 200, openIdConfiguration(configuration[1]));
      return;
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (request.method === 'POST' && token?.[1] !== undefined)
      return handleToken(request, response, token[1]);
    sendJson(response, 404, {
      error: 'not_found',
      error_description: `sandbox Entra ID: no route for ${request.method ?? ''} ${path}`,
    });
  };

  const server = await startHttpsServer(
    base.serverTls,
    options.faults === undefined ? handler : withFaults(options.faults, handler),
    options.listen,
  );
  const routes = [ENTRA_HOST, AZURE_DEVOPS_TOKEN_HOST, `*.${AZURE_DEVOPS_TOKEN_HOST}`];
  for (const host of routes) base.proxy.route(host, server.port);

  return {
    ...server,
    urls: [server.url],
    routes,
    tenantId,
    oidcIssuer,
    oidcRequestUri: `https://${AZURE_DEVOPS_TOKEN_HOST}${oidcPath}`,
    managedIdentityEnvironment: {
      IDENTITY_ENDPOINT: `${server.url}/msi/token`,
      IDENTITY_HEADER: managedIdentityHeader,
    },
    requests,
    oidcRequests,
    registerServicePrincipal: (registration) => {
      const principal: StoredServicePrincipal = {
        clientId: registration.clientId,
        objectId: registration.objectId ?? crypto.randomUUID(),
        ...(registration.secret === undefined ? {} : { secret: registration.secret }),
        ...(registration.certificate === undefined
          ? {}
          : { certificate: new crypto.X509Certificate(registration.certificate.certificate) }),
        ...(registration.federatedSubject === undefined
          ? {}
          : { federatedSubject: registration.federatedSubject }),
      };
      servicePrincipals.set(registration.clientId.toLowerCase(), principal);
      return { clientId: principal.clientId, objectId: principal.objectId };
    },
    registerFederation: (serviceConnectionId, systemAccessToken) => {
      // The subject format of Azure DevOps service connections: sc://<organisation>/<project>/<connection>.
      const subject = `sc://sandbox-org/sandbox-project/${serviceConnectionId}`;
      federations.set(serviceConnectionId.toLowerCase(), { systemAccessToken, subject });
      return { serviceConnectionId, subject };
    },
    registerManagedIdentity: ({ clientId, objectId }) => {
      const identity: ManagedIdentity = { clientId, objectId: objectId ?? crypto.randomUUID() };
      managedIdentities.set(clientId.toLowerCase(), identity);
      return identity;
    },
  };
}

/** How the client tries to authenticate: a self-signed assertion names the app as issuer, a federated token does not. */
function clientAuthenticationOf(form: URLSearchParams): ClientAuthentication {
  if (form.has('client_secret')) return 'secret';
  const assertion = form.get('client_assertion');
  if (assertion === null || form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) return 'none';
  const issuer = decodeJwt(assertion)?.payload.iss;
  return issuer !== undefined && issuer === form.get('client_id') ? 'certificate' : 'federated';
}

// --- discovery documents ------------------------------------------------------------------------

function sendInstanceDiscovery(request: IncomingMessage, response: ServerResponse): void {
  const authorizeEndpoint =
    queryOf(request).get('authorization_endpoint') ?? `https://${ENTRA_HOST}/common/oauth2/v2.0/authorize`;
  const tenant = /^https:\/\/[^/]+\/([^/]+)\//.exec(authorizeEndpoint)?.[1] ?? 'common';
  sendJson(response, 200, {
    tenant_discovery_endpoint: `https://${ENTRA_HOST}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [
      {
        preferred_network: ENTRA_HOST,
        preferred_cache: 'login.windows.net',
        aliases: [ENTRA_HOST, 'login.windows.net', 'login.microsoft.com', 'sts.windows.net'],
      },
    ],
  });
}

function openIdConfiguration(tenant: string): Record<string, unknown> {
  const root = `https://${ENTRA_HOST}/${tenant}`;
  return {
    token_endpoint: `${root}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${root}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `https://${ENTRA_HOST}/${tenant}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${root}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${root}/oauth2/v2.0/logout`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  };
}

// --- errors ---------------------------------------------------------------------------------------

/** Entra ID's error body: the description carries trace and correlation ids and a timestamp too. */
function sendEntraError(request: IncomingMessage, response: ServerResponse, error: EntraError): void {
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  const traceId = crypto.randomUUID();
  const requested = request.headers['client-request-id'];
  const correlationId = typeof requested === 'string' && requested !== '' ? requested : crypto.randomUUID();
  sendJson(response, error.status, {
    error: error.error,
    error_description: `AADSTS${error.code}: ${error.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [error.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://${ENTRA_HOST}/error?code=${error.code}`,
  });
}

function azureDevOpsError(message: string): Record<string, unknown> {
  return {
    $id: '1',
    innerException: null,
    message,
    typeName:
      'Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server',
    typeKey: 'UnauthorizedRequestException',
    errorCode: 0,
    eventId: 3000,
  };
}

/** The resource of a client-credentials scope: `https://vault.azure.net/.default` → `https://vault.azure.net`. */
function resourceOfScope(scope: string | undefined): string {
  const scopes = (scope ?? '').split(' ').filter((s) => s !== '' && !OIDC_SCOPES.has(s));
  const [only] = scopes;
  if (scopes.length !== 1 || only === undefined || !only.endsWith('/.default')) {
    throw new EntraError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  return only.slice(0, -'/.default'.length);
}

// --- client assertions --------------------------------------------------------------------------

function requireValidTimes(jwt: DecodedJwt): void {
  const now = Math.floor(Date.now() / 1000);
  const { exp, nbf } = jwt.payload;
  const skewSeconds = 300;
  if (
    typeof exp !== 'number' ||
    exp + skewSeconds < now ||
    (typeof nbf === 'number' && nbf - skewSeconds > now)
  ) {
    throw new EntraError(
      401,
      'invalid_client',
      700024,
      'Client assertion is not within its valid time range.',
    );
  }
}

/** The `x5t` (SHA-1) or `x5t#S256` header of an assertion, as lower-case hex. */
function presentedThumbprint(
  header: Record<string, unknown>,
): { algorithm: 'sha1' | 'sha256'; hex: string } | undefined {
  const sha256 = header['x5t#S256'];
  if (typeof sha256 === 'string')
    return { algorithm: 'sha256', hex: Buffer.from(sha256, 'base64url').toString('hex') };
  const sha1 = header.x5t;
  if (typeof sha1 === 'string')
    return { algorithm: 'sha1', hex: Buffer.from(sha1, 'base64url').toString('hex') };
  return undefined;
}

function thumbprintsOf(certificate: crypto.X509Certificate): Record<'sha1' | 'sha256', string> {
  return {
    sha1: crypto.createHash('sha1').update(certificate.raw).digest('hex'),
    sha256: crypto.createHash('sha256').update(certificate.raw).digest('hex'),
  };
}

function constantTimeEquals(expected: string, actual: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
