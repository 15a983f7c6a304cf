import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { eventually } from '@causewayjs/testing';
import { freePort } from '../nats/own-nats-server.js';

const run = promisify(execFile);

/** The packaged wrapper; the scripts it hands over to (as the rabbitmq user) sit beside its target. */
const wrapper = process.env.CAUSEWAY_RABBITMQ_SERVER ?? '/usr/sbin/rabbitmq-server';

/** The real `rabbitmq-server` and `rabbitmqctl` scripts, run as they are (env kept), or why not. */
function findScripts(): { server: string; ctl: string } | { missing: string } {
  if (!existsSync(wrapper)) return { missing: `${wrapper} is missing` };
  const bin = dirname(realpathSync(wrapper));
  const server = join(bin, 'rabbitmq-server');
  const ctl = join(bin, 'rabbitmqctl');
  for (const file of [server, ctl]) if (!existsSync(file)) return { missing: `${file} is missing` };
  return { server, ctl };
}

const scripts = findScripts();

/**
 * Whether a private RabbitMQ node can be started here. When it cannot: under `CI=true` this
 * throws (a CI run must not pass by skipping); elsewhere it prints one line saying why and
 * returns false, and the caller skips its tests.
 */
export function privateRabbitMqAvailable(): boolean {
  if ('server' in scripts) return true;
  const message = `cannot start a private RabbitMQ node: ${scripts.missing}`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPING private RabbitMQ tests: ${message}`);
  return false;
}

/**
 * A RabbitMQ node of a test's own: its own node name, AMQP and distribution ports, config
 * file (the system one names the shared broker's listener), Erlang cookie (its own HOME) and
 * data and log directories in a temporary directory, so a test can cut its connections, kill
 * and restart it without touching the shared broker. epmd is shared; the names differ. Always
 * {@link cleanup} it.
 *
 * @example
 * ```ts
 * const node = await PrivateRabbitMq.start();
 * afterAll(() => node.cleanup());
 * await node.kill(); await node.boot(); // a broker restart, data kept
 * ```
 */
export class PrivateRabbitMq {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly distPort: number,
    readonly nodeName: string,
    private readonly dir: string,
  ) {}

  /** Creates the node's directory and boots it. */
  static async start(): Promise<PrivateRabbitMq> {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-rabbitmq-'));
    writeFileSync(join(dir, 'rabbitmq.conf'), 'log.console = false\n');
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
    const node = new PrivateRabbitMq(
      await freePort(),
      await freePort(),
      `causeway-${randomBytes(4).toString('hex')}@localhost`,
      dir,
    );
    try {
      await node.boot();
    } catch (error) {
      await node.cleanup();
      throw error;
    }
    return node;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  private get env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      ...process.env,
      HOME: d, // the node's own Erlang cookie
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: join(d, 'log'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
  }

  /** Starts the node (on its existing data) and resolves once it accepts AMQP connections. */
  async boot(): Promise<void> {
    if (!('server' in scripts)) throw new Error(scripts.missing);
    this.output = '';
    // Its own process group, so kill() takes the VM and its helper processes together.
    const child = spawn(scripts.server, [], {
      env: this.env,
      cwd: this.dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    await eventually(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`the private RabbitMQ node exited: ${this.output}`);
        try {
          const connection = await connect(this.url, { timeout: 1000 });
          await connection.close();
          return true;
        } catch {
          return false;
        }
      },
      'the private RabbitMQ node to accept connections',
      60_000,
    );
  }

  /** Kills the node abruptly (SIGKILL to its process group) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  }

  /** Closes every client connection from the broker's side (`rabbitmqctl close_all_connections`). */
  async closeAllConnections(): Promise<void> {
    if (!('ctl' in scripts)) throw new Error(scripts.missing);
    await run(
      scripts.ctl,
      ['-n', this.nodeName, 'close_all_connections', 'test: connection loss'],
      // A CLI that cannot reach the node fails the test here instead of stalling it.
      { env: this.env, cwd: this.dir, timeout: 60_000 },
    );
  }

  /** Kills the node and removes its directory. */
  async cleanup(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
