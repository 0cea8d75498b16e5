import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isJsonObject, labelsOf, textOf, type KubeObject } from './objects';
import type { PortForwardTarget } from './portForward';
import type { ObjectStore } from './store';

/** A local HTTP server standing in for what the selected pods run on one container port. */
export interface PodApp {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly containerPort: number;
  /** The loopback port the app really listens on. */
  readonly port: number;
  /** Requests the app has answered (or is answering). */
  readonly requests: number;
  close(): Promise<void>;
}

/**
 * The pods' side of `kubectl port-forward`: which local server answers for port `p` of a pod. Pods
 * run no code in the sandbox, so a test says "pods labelled so in this namespace serve HTTP on
 * container port p with this handler", and port-forward connections to such a pod reach that handler.
 */
export class PodApps {
  private readonly apps: PodApp[] = [];

  constructor(private readonly store: ObjectStore) {}

  async serve(
    namespace: string,
    labels: Readonly<Record<string, string>>,
    containerPort: number,
    listener: http.RequestListener,
  ): Promise<PodApp> {
    let requests = 0;
    const sockets = new Set<Socket>();
    const server = http.createServer((request, response) => {
      requests++;
      listener(request, response);
    });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const app: PodApp = {
      namespace,
      labels: { ...labels },
      containerPort,
      port: (server.address() as AddressInfo).port,
      get requests() {
        return requests;
      },
      close: () => {
        const index = this.apps.indexOf(app);
        if (index >= 0) this.apps.splice(index, 1);
        return new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
      },
    };
    this.apps.push(app);
    return app;
  }

  /**
   * Where port `port` of the pod is served: only for a Running pod whose labels an app selects on
   * that port. Like a real pod, whether a container declares the port does not matter; a listener does.
   */
  resolve(namespace: string, podName: string, port: number): PortForwardTarget | undefined {
    const pod = this.store.getByKind('Pod', namespace, podName);
    if (pod === undefined || phaseOf(pod) !== 'Running') return undefined;
    const podLabels = labelsOf(pod);
    const app = this.apps.find(
      (candidate) =>
        candidate.namespace === namespace &&
        candidate.containerPort === port &&
        Object.entries(candidate.labels).every(([key, value]) => podLabels[key] === value),
    );
    return app === undefined ? undefined : { host: '127.0.0.1', port: app.port };
  }

  async close(): Promise<void> {
    await Promise.all([...this.apps].map((app) => app.close()));
  }
}

function phaseOf(pod: KubeObject): string {
  return isJsonObject(pod.status) ? textOf(pod.status.phase) : '';
}
