import { setTimeout as delay } from 'node:timers/promises';
import {
  apiGroupOf,
  describeObject,
  isJsonObject,
  type JsonObject,
  type KubernetesObject,
} from './kubernetesObject';
import type { Kubectl } from './kubectl';
import { addressKey, lookUp, type ObjectAddress } from './lookup';
import type { Workload } from './workloads';

export interface DeployedImage {
  readonly workload: Workload;
  readonly container: string;
  /** The image as the workload names it, with the digest its pods report appended when known. */
  readonly image: string;
}

const DIGEST = /@(sha256:[0-9a-f]{64})$/;

/**
 * The images of a workload's containers (init containers first), each with the digest its pods
 * report in `imageID` when one of them does. A runtime that reports only the image's local id
 * (`sha256:…` without a repository) tells no registry digest, and none is added.
 */
export function deployedImages(
  workload: Workload,
  applied: unknown,
  pods: readonly JsonObject[],
): DeployedImage[] {
  const podSpec = podSpecOf(applied);
  if (podSpec === undefined) return [];
  const images: DeployedImage[] = [];
  for (const field of ['initContainers', 'containers'] as const) {
    const containers = podSpec[field];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      if (
        !isJsonObject(container) ||
        typeof container.name !== 'string' ||
        typeof container.image !== 'string'
      )
        continue;
      const digest = reportedDigest(pods, container.name);
      images.push({ workload, container: container.name, image: withDigest(container.image, digest) });
    }
  }
  return images;
}

/** `web:2.0` with `sha256:ab…` → `web:2.0@sha256:ab…`; an image already pinned by digest is kept. */
export function withDigest(image: string, digest: string | undefined): string {
  return digest === undefined || image.includes('@') ? image : `${image}@${digest}`;
}

/** The `deployedImages` output: one image per line, each once, in manifest order. */
export function formatDeployedImages(images: readonly DeployedImage[]): string {
  return [...new Set(images.map(({ image }) => image))].join('\n');
}

function reportedDigest(pods: readonly JsonObject[], container: string): string | undefined {
  for (const pod of pods) {
    const status = isJsonObject(pod.status) ? pod.status : {};
    for (const field of ['initContainerStatuses', 'containerStatuses']) {
      const statuses = status[field];
      if (!Array.isArray(statuses)) continue;
      for (const entry of statuses) {
        if (!isJsonObject(entry) || entry.name !== container || typeof entry.imageID !== 'string') continue;
        const digest = DIGEST.exec(entry.imageID)?.[1];
        if (digest !== undefined) return digest;
      }
    }
  }
  return undefined;
}

function podSpecOf(object: unknown): JsonObject | undefined {
  if (!isJsonObject(object) || !isJsonObject(object.spec) || !isJsonObject(object.spec.template))
    return undefined;
  const spec = object.spec.template.spec;
  return isJsonObject(spec) ? spec : undefined;
}

/** Services of type LoadBalancer and Ingresses: the objects that get an external address. */
export function expectsEndpoint(object: KubernetesObject): boolean {
  if (object.kind === 'Service' && object.apiVersion === 'v1')
    return isJsonObject(object.spec) && object.spec.type === 'LoadBalancer';
  return object.kind === 'Ingress' && apiGroupOf(object.apiVersion) === 'networking.k8s.io';
}

/**
 * Base URLs of a LoadBalancer Service as the cluster reports it: one per external address and port,
 * `http://20.1.2.3:80`; https for port 443 or a port named or with appProtocol `https`. Empty
 * while the load balancer has no address yet.
 */
export function serviceUrls(service: unknown): string[] {
  if (!isJsonObject(service) || !isJsonObject(service.spec) || !Array.isArray(service.spec.ports)) return [];
  const hosts = loadBalancerHosts(service);
  const urls: string[] = [];
  for (const host of hosts) {
    for (const port of service.spec.ports) {
      if (!isJsonObject(port) || typeof port.port !== 'number') continue;
      const https = port.port === 443 || port.name === 'https' || port.appProtocol === 'https';
      urls.push(`${https ? 'https' : 'http'}://${host}:${port.port}`);
    }
  }
  return urls;
}

/**
 * Base URLs of an Ingress: `https://host` for each host its TLS section covers, `http://host` for the
 * others (wildcard hosts are no URL); an Ingress without hosts is reached at its load balancer's
 * addresses, once it has them.
 */
export function ingressUrls(ingress: unknown): string[] {
  if (!isJsonObject(ingress) || !isJsonObject(ingress.spec)) return [];
  const { rules, tls } = ingress.spec;
  const tlsHosts = new Set(
    (Array.isArray(tls) ? tls : []).flatMap((entry) =>
      isJsonObject(entry) && Array.isArray(entry.hosts)
        ? entry.hosts.filter((h) => typeof h === 'string')
        : [],
    ),
  );
  const hosts = (Array.isArray(rules) ? rules : []).flatMap((rule) =>
    isJsonObject(rule) && typeof rule.host === 'string' && rule.host !== '' && !rule.host.startsWith('*')
      ? [rule.host]
      : [],
  );
  if (hosts.length > 0)
    return [...new Set(hosts)].map((host) => `${tlsHosts.has(host) ? 'https' : 'http'}://${host}`);
  return loadBalancerHosts(ingress).map((host) => `http://${host}`);
}

/** `status.loadBalancer.ingress[]` addresses: the IP, else the host name; an IPv6 address in brackets. */
function loadBalancerHosts(object: JsonObject): string[] {
  const status = object.status;
  if (!isJsonObject(status) || !isJsonObject(status.loadBalancer)) return [];
  const entries = status.loadBalancer.ingress;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry) => {
    if (!isJsonObject(entry)) return [];
    if (typeof entry.ip === 'string' && entry.ip !== '')
      return [entry.ip.includes(':') ? `[${entry.ip}]` : entry.ip];
    return typeof entry.hostname === 'string' && entry.hostname !== '' ? [entry.hostname] : [];
  });
}

export function endpointUrls(object: KubernetesObject, current: unknown): string[] {
  return object.kind === 'Service' ? serviceUrls(current) : ingressUrls(current);
}

export interface EndpointResult {
  readonly urls: readonly string[];
  /** Objects that still had no external address at the deadline, as messages name them. */
  readonly missing: readonly string[];
}

/**
 * The external URLs of the objects: first from the objects as the apply returned them (`applied`),
 * then asking the cluster (all objects still without an address in one kubectl process, listed in
 * `lookupFile`) at once and every `pollIntervalMs` after, until each has an address or
 * `timeoutSeconds` have passed: a cloud load balancer takes a while to get its IP.
 */
export async function waitForEndpoints(
  kubectl: Kubectl,
  objects: readonly KubernetesObject[],
  options: {
    timeoutSeconds: number;
    pollIntervalMs: number;
    now: () => number;
    lookupFile: string;
    /** The objects as the apply returned them, by addressKey. */
    applied: ReadonlyMap<string, JsonObject>;
  },
): Promise<EndpointResult> {
  const deadline = options.now() + options.timeoutSeconds * 1000;
  const found = new Map<KubernetesObject, string[]>();
  const take = (current: ReadonlyMap<string, JsonObject>): void => {
    for (const object of objects.filter((pending) => !found.has(pending))) {
      const urls = endpointUrls(object, current.get(addressKey(manifestAddress(object))));
      if (urls.length > 0) found.set(object, urls);
    }
  };
  // The apply's answer may be older than the rollouts: what it lacks is asked for again at once.
  take(options.applied);
  while (found.size < objects.length) {
    const pending = objects.filter((object) => !found.has(object));
    take(await readEndpointObjects(kubectl, pending, options.lookupFile));
    if (found.size === objects.length || options.now() >= deadline) break;
    await delay(options.pollIntervalMs);
  }
  return {
    urls: [...new Set(objects.flatMap((object) => found.get(object) ?? []))],
    missing: objects.filter((object) => !found.has(object)).map(describeObject),
  };
}

/** The objects as the cluster has them now, by addressKey, in one kubectl process. */
export function readEndpointObjects(
  kubectl: Kubectl,
  objects: readonly KubernetesObject[],
  lookupFile: string,
): Promise<Map<string, JsonObject>> {
  return lookUp(kubectl, lookupFile, objects.map(manifestAddress));
}

function manifestAddress(object: KubernetesObject): ObjectAddress {
  const { apiVersion, kind, metadata } = object;
  return { apiVersion, kind, name: metadata.name, namespace: metadata.namespace };
}
