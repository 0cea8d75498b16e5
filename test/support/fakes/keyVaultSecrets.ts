// Stands in for @azure/keyvault-secrets in L0 runs. The vault's content and faults come from the
// FAKE_KEYVAULT environment variable (a FakeVault as JSON); every call is printed so tests can
// check what the task asked for.
export const KEYVAULT_MARKER = '##l0-keyvault ';

export interface FakeSecret {
  name: string;
  value: string;
  enabled?: boolean;
  /** ISO dates. */
  expiresOn?: string;
  notBefore?: string;
}

export interface FakeError {
  statusCode?: number;
  code: string;
  innerCode?: string;
  message: string;
  name?: string;
}

export interface FakeVault {
  secrets: FakeSecret[];
  pageSize?: number;
  listError?: FakeError;
  getErrors?: Record<string, FakeError>;
}

function vault(): FakeVault {
  return JSON.parse(process.env['FAKE_KEYVAULT'] ?? '{"secrets":[]}') as FakeVault;
}

function record(call: string, detail: unknown): void {
  console.log(`${KEYVAULT_MARKER}${JSON.stringify({ call, detail })}`);
}

function toError(fake: FakeError): Error {
  const error = new Error(fake.message) as Error & { statusCode?: number; code: string; details: unknown };
  error.name = fake.name ?? 'RestError';
  error.statusCode = fake.statusCode;
  error.code = fake.code;
  error.details = {
    error: {
      code: fake.code,
      message: fake.message,
      innererror: fake.innerCode ? { code: fake.innerCode } : undefined,
    },
  };
  return error;
}

function propertiesOf(secret: FakeSecret): Record<string, unknown> {
  return {
    name: secret.name,
    enabled: secret.enabled ?? true,
    expiresOn: secret.expiresOn === undefined ? undefined : new Date(secret.expiresOn),
    notBefore: secret.notBefore === undefined ? undefined : new Date(secret.notBefore),
  };
}

export class SecretClient {
  constructor(vaultUrl: string, _credential: unknown, options: unknown) {
    record('constructor', { vaultUrl, options });
  }

  listPropertiesOfSecrets(): { byPage(): AsyncIterable<Record<string, unknown>[]> } {
    const { secrets, pageSize = 25, listError } = vault();
    return {
      byPage: async function* () {
        if (listError !== undefined) throw toError(listError);
        for (let start = 0; start < secrets.length; start += pageSize) {
          record('listPage', start / pageSize);
          await Promise.resolve();
          yield secrets.slice(start, start + pageSize).map(propertiesOf);
        }
      },
    };
  }

  async getSecret(
    name: string,
  ): Promise<{ name: string; value: string; properties: Record<string, unknown> }> {
    record('getSecret', name);
    await Promise.resolve();
    const { secrets, getErrors } = vault();
    const error = getErrors?.[name];
    if (error !== undefined) throw toError(error);
    const secret = secrets.find((s) => s.name.toLowerCase() === name.toLowerCase());
    if (secret === undefined)
      throw toError({
        statusCode: 404,
        code: 'SecretNotFound',
        message: `A secret with (name/id) ${name} was not found in this key vault.`,
      });
    if (secret.enabled === false) {
      throw toError({
        statusCode: 403,
        code: 'Forbidden',
        innerCode: 'SecretDisabled',
        message: 'Operation get is not allowed on a disabled secret.',
      });
    }
    return { name: secret.name, value: secret.value, properties: propertiesOf(secret) };
  }
}

export function recordedKeyVaultCalls(stdout: string): { call: string; detail: unknown }[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith(KEYVAULT_MARKER))
    .map((line) => JSON.parse(line.slice(KEYVAULT_MARKER.length)) as { call: string; detail: unknown });
}
