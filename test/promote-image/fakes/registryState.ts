// The registries the L0 fakes serve, shared by the fake undici (the registry API) and the fake
// @azure/arm-containerregistry (ACR import writes into them). Kept on globalThis: the mock runner
// loads modules afresh after it starts mocking, and both fakes must see one state.
import * as crypto from 'node:crypto';

export interface FakeManifest {
  readonly mediaType: string;
  /** The manifest's exact bytes, base64. */
  readonly bytes: string;
}

export interface FakeRepository {
  /** digest → manifest */
  manifests: Record<string, FakeManifest>;
  /** tag → digest */
  tags: Record<string, string>;
}

export interface FakeRegistry {
  /** Challenge with ACR's realm (token exchange); otherwise anonymous. */
  acr?: boolean;
  /** Refuse pushes (403), as a registry does for an identity without AcrPush. */
  denyPush?: boolean;
  repositories: Record<string, FakeRepository>;
  /** digest → bytes, base64 */
  blobs: Record<string, string>;
}

export interface FakeRegistries {
  registries: Record<string, FakeRegistry>;
}

const KEY = Symbol.for('aks-delivery.l0.fakeRegistries');

export function registryState(): FakeRegistries {
  const holder = globalThis as unknown as Record<symbol, FakeRegistries | undefined>;
  holder[KEY] ??= JSON.parse(process.env['FAKE_REGISTRIES'] ?? '{"registries":{}}') as FakeRegistries;
  return holder[KEY];
}

export function sha256(bytes: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

export const REGISTRY_MARKER = '##l0-registry ';

export function recordCall(call: Record<string, unknown>): void {
  console.log(`${REGISTRY_MARKER}${JSON.stringify(call)}`);
}

export function recordedCalls(stdout: string): Record<string, unknown>[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith(REGISTRY_MARKER))
    .map((line) => JSON.parse(line.slice(REGISTRY_MARKER.length)) as Record<string, unknown>);
}
