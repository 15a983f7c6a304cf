import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { vi } from 'vitest';
import { freePort } from '../nats/own-nats-server.js';

const binary = process.env.CAUSEWAY_MOSQUITTO ?? '/usr/sbin/mosquitto';

/**
 * Whether a private Mosquitto can be started here. When it cannot: under `CI=true` this
 * throws (a CI run must not pass by skipping); elsewhere it prints one line saying why and
 * returns false, and the caller skips its tests.
 */
export function privateMosquittoAvailable(): boolean {
  if (existsSync(binary)) return true;
  const message = `cannot start a private Mosquitto: ${binary} is missing (set CAUSEWAY_MOSQUITTO)`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPING private Mosquitto tests: ${message}`);
  return false;
}

/**
 * A Mosquitto of a test's own: its own port, config file and persistence directory in a
 * temporary directory, so a test can kill and restart it without touching the shared broker.
 * Persistence is on and saved after every change, so the sessions and QoS 1 messages it
 * queued survive a restart. Always {@link cleanup} it.
 */
export class PrivateMosquitto {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** Writes the config and starts the broker; resolves once it accepts connections. */
  static async start(): Promise<PrivateMosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-private-mosquitto-'));
    const broker = new PrivateMosquitto(await freePort(), dir);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${broker.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${dir}/`,
        'autosave_interval 1',
        'autosave_on_changes true',
        'max_queued_messages 0',
        'max_inflight_messages 20',
        // Started as root, Mosquitto switches to the `mosquitto` user, which cannot write
        // the persistence file in this directory: stay root.
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        '',
      ].join('\n'),
    );
    try {
      await broker.run();
    } catch (error) {
      await broker.cleanup();
      throw error;
    }
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Starts the broker again (same port, config and persistence). */
  async run(): Promise<void> {
    this.child = spawn(binary, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await vi.waitFor(
      async () => {
        const client = await mqtt.connectAsync(this.url, {
          reconnectPeriod: 0,
          connectTimeout: 1000,
        });
        await client.endAsync(true);
      },
      { timeout: 15_000, interval: 100 },
    );
  }

  /** Ends the broker with `signal` (SIGKILL: abruptly) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Kills the broker if it runs and removes its directory; never throws. */
  async cleanup(): Promise<void> {
    await this.kill().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
