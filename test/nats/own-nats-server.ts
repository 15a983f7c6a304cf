import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { eventually } from '@causewayjs/testing';

/** The nats-server binary tests start servers of their own with. */
export const natsServerBinary = process.env.CAUSEWAY_NATS_SERVER ?? '/usr/sbin/nats-server';

/** Whether {@link natsServerBinary} exists: tests that need a server of their own skip without it. */
export const natsServerInstalled = existsSync(natsServerBinary);

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A nats-server with JetStream of a test's own, on its own port and storage directory, so
 * it can be killed and restarted without touching the shared test server.
 */
export class OwnNatsServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly storeDir: string,
  ) {}

  /** Picks a free port; `start()` runs the server. */
  static async create(storeDir: string): Promise<OwnNatsServer> {
    return new OwnNatsServer(await freePort(), storeDir);
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts the server and resolves once it accepts a connection with JetStream answering. */
  async start(): Promise<void> {
    this.child = spawn(
      natsServerBinary,
      ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir],
      { stdio: 'ignore' },
    );
    await eventually(async () => {
      try {
        const nc = await connect({ servers: this.url, reconnect: false });
        try {
          await (await jetstreamManager(nc)).getAccountInfo();
          return true;
        } finally {
          await nc.close();
        }
      } catch {
        return false;
      }
    }, 'the test nats-server to accept connections');
  }

  /** Kills the server abruptly (SIGKILL) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
