// Stands in for @azure/identity in L0 runs: each credential prints which class was built with
// which arguments, so tests can check the mapping from service connection to credential.
export const CREDENTIAL_MARKER = '##l0-credential ';

function record(className: string, args: unknown[]): void {
  console.log(`${CREDENTIAL_MARKER}${JSON.stringify({ className, args })}`);
}

class RecordingCredential {
  getToken(): Promise<{ token: string; expiresOnTimestamp: number }> {
    return Promise.resolve({ token: 'fake-token', expiresOnTimestamp: Date.now() + 3600_000 });
  }
}

export class ClientSecretCredential extends RecordingCredential {
  constructor(...args: unknown[]) {
    super();
    record('ClientSecretCredential', args);
  }
}
export class ClientCertificateCredential extends RecordingCredential {
  constructor(...args: unknown[]) {
    super();
    record('ClientCertificateCredential', args);
  }
}
export class AzurePipelinesCredential extends RecordingCredential {
  constructor(...args: unknown[]) {
    super();
    record('AzurePipelinesCredential', args);
  }
}
export class ManagedIdentityCredential extends RecordingCredential {
  constructor(...args: unknown[]) {
    super();
    record('ManagedIdentityCredential', args);
  }
}

export interface RecordedCredential {
  readonly className: string;
  readonly args: unknown[];
}

export function recordedCredentials(stdout: string): RecordedCredential[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith(CREDENTIAL_MARKER))
    .map((line) => JSON.parse(line.slice(CREDENTIAL_MARKER.length)) as RecordedCredential);
}
