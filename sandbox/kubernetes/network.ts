import * as crypto from 'node:crypto';
import { isJsonObject, type KubeObject } from './objects';
import { INGRESS, keyOf, SERVICE, type ControllerContext } from './controllerContext';

// The cloud provider's part: LoadBalancer Services and Ingresses get public addresses.

/** A stable, made-up public address: just data, nothing listens there. */
export function publicIp(ctx: ControllerContext, object: KubeObject, salt: string): string {
  const digest = crypto
    .createHash('sha256')
    .update(
      `${ctx.options.addressSeed}/${salt}/${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`,
    )
    .digest();
  return `20.${((digest[0] ?? 0) % 200) + 20}.${digest[1] ?? 0}.${((digest[2] ?? 0) % 250) + 4}`;
}

export function reconcileService(ctx: ControllerContext, service: KubeObject): void {
  const isLoadBalancer = service.spec?.type === 'LoadBalancer';
  const loadBalancer = isJsonObject(service.status?.loadBalancer) ? service.status.loadBalancer : {};
  const hasAddress = Array.isArray(loadBalancer.ingress) && loadBalancer.ingress.length > 0;
  const key = keyOf(SERVICE, service);
  if (!isLoadBalancer) {
    if (hasAddress) ctx.writeStatus(SERVICE, service, { ...service.status, loadBalancer: {} });
    return;
  }
  if (hasAddress) return;
  const readyAt = ctx.firstSeen(key) + ctx.options.loadBalancerDelayMs;
  ctx.recordEvent(service, {
    type: 'Normal',
    reason: 'EnsuringLoadBalancer',
    message: 'Ensuring load balancer',
    count: 1,
    key: 'ensuring',
  });
  if (Date.now() < readyAt) return ctx.wakeAt(key, readyAt);
  const requested =
    typeof service.spec?.loadBalancerIP === 'string' && service.spec.loadBalancerIP !== ''
      ? service.spec.loadBalancerIP
      : undefined;
  ctx.writeStatus(SERVICE, service, {
    ...service.status,
    loadBalancer: { ingress: [{ ip: requested ?? publicIp(ctx, service, 'lb'), ipMode: 'VIP' }] },
  });
  ctx.recordEvent(service, {
    type: 'Normal',
    reason: 'EnsuredLoadBalancer',
    message: 'Ensured load balancer',
    count: 1,
    key: 'ensured',
  });
}

export function reconcileIngress(ctx: ControllerContext, ingress: KubeObject): void {
  const loadBalancer = isJsonObject(ingress.status?.loadBalancer) ? ingress.status.loadBalancer : {};
  if (Array.isArray(loadBalancer.ingress) && loadBalancer.ingress.length > 0) return;
  const key = keyOf(INGRESS, ingress);
  const readyAt = ctx.firstSeen(key) + ctx.options.loadBalancerDelayMs;
  if (Date.now() < readyAt) return ctx.wakeAt(key, readyAt);
  // Every Ingress shares the ingress controller's one public address, as with AKS app routing.
  const controllerAddress = publicIp(
    ctx,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx', namespace: 'app-routing-system' } },
    'ingress',
  );
  ctx.writeStatus(INGRESS, ingress, {
    ...ingress.status,
    loadBalancer: { ingress: [{ ip: controllerAddress }] },
  });
}
