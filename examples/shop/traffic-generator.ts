import { newId, type CommandReply } from '@causewayjs/core';
import { INITIAL_STOCK, SHOP_PRODUCTS } from './shop-catalog.js';
import type { NewOrderLine } from './order-decider.js';

/** Options of {@link TrafficGenerator}. */
export interface TrafficOptions {
  /** Sends a command to the shop's command side (see `createShopCommands`). */
  send(type: string, data: unknown, metadata?: Record<string, unknown>): Promise<CommandReply>;
  /** Orders placed per second (may be fractional). */
  rate: number;
  /** Stop after placing this many orders (default: no limit). */
  orders?: number;
  /** Stop after this many milliseconds (default: no limit). */
  durationMs?: number;
  /** How many distinct customers order (default 40). */
  customers?: number;
  /** Seed of the random choices, for reproducible traffic (default: time-based). */
  seed?: number;
  /** Restock every product after this many orders (default 25). */
  restockEvery?: number;
  /** Told of failures (a rejected or failed command); the generator carries on. */
  onError?: (error: unknown) => void;
}

/** What the generator has done so far. */
export interface TrafficStats {
  placed: number;
  rejected: number;
  failed: number;
  restocks: number;
  /** Order ids placed, in order (the last 1,000). */
  recentOrders: string[];
}

/** A small, fast, seedable PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Places orders at a steady rate, as customers of the shop would: 1 to 3 lines of random
 * products, 1 to 3 units each, from a pool of customers; restocks every product now and then
 * so the shop keeps selling (and sometimes runs short, which the saga compensates). Each
 * order goes through the order command handler; the fulfilment saga takes it from there.
 */
export class TrafficGenerator {
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private inFlight = new Set<Promise<void>>();
  private readonly doneWaiters: (() => void)[] = [];
  private finished = false;
  readonly stats: TrafficStats = {
    placed: 0,
    rejected: 0,
    failed: 0,
    restocks: 0,
    recentOrders: [],
  };

  constructor(private readonly options: TrafficOptions) {
    if (!(options.rate > 0 && Number.isFinite(options.rate)))
      throw new RangeError(`the traffic rate must be a positive number, got ${options.rate}`);
    this.random = prng(options.seed ?? Date.now());
  }

  /** Starts placing orders (ticks every 50 ms or at the rate, whichever is slower). */
  start(): void {
    if (this.timer) return;
    this.started = performance.now();
    const tickMs = Math.max(50, Math.min(1000, 1000 / this.options.rate));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.tick();
  }

  /** Resolves once the generator has stopped on its own (orders or duration reached). */
  done(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => this.doneWaiters.push(resolve));
  }

  /** Stops placing orders and waits for the commands in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
    this.finish();
  }

  private finish(): void {
    this.finished = true;
    for (const resolve of this.doneWaiters.splice(0)) resolve();
  }

  private tick(): void {
    const elapsed = performance.now() - this.started;
    const { orders, durationMs } = this.options;
    if (
      (durationMs !== undefined && elapsed >= durationMs) ||
      (orders !== undefined &&
        this.stats.placed + this.stats.rejected + this.stats.failed >= orders)
    ) {
      void this.stop();
      return;
    }
    // Catch up with the rate, but never pile up more than a second's worth at once.
    const due = Math.floor((elapsed / 1000) * this.options.rate) + 1;
    let issued = this.stats.placed + this.stats.rejected + this.stats.failed + this.inFlight.size;
    const cap = issued + Math.max(1, Math.ceil(this.options.rate));
    while (issued < Math.min(due, cap) && (orders === undefined || issued < orders)) {
      this.track(this.placeOrder());
      issued++;
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private async placeOrder(): Promise<void> {
    const orderId = newId().slice(-12);
    const customerId = `c-${1 + Math.floor(this.random() * (this.options.customers ?? 40))}`;
    const count = 1 + Math.floor(this.random() * 3);
    const chosen = new Map<string, NewOrderLine>();
    for (let i = 0; i < count; i++) {
      const product = this.pick(SHOP_PRODUCTS);
      chosen.set(product.sku, {
        sku: product.sku,
        quantity: 1 + Math.floor(this.random() * 3),
        unitPrice: product.price,
      });
    }
    try {
      const reply = await this.options.send(
        'order.place',
        { orderId, customerId, lines: [...chosen.values()] },
        { actor: customerId, source: 'traffic-generator' },
      );
      if (reply.status === 'accepted') {
        this.stats.placed++;
        this.stats.recentOrders.push(orderId);
        if (this.stats.recentOrders.length > 1000) this.stats.recentOrders.shift();
        if (this.stats.placed % (this.options.restockEvery ?? 25) === 0) await this.restock();
      } else {
        this.stats.rejected++;
        this.options.onError?.(new Error(`${reply.code}: ${reply.message}`));
      }
    } catch (error) {
      this.stats.failed++;
      this.options.onError?.(error);
    }
  }

  /** Tops every product up by {@link INITIAL_STOCK} units. */
  async restock(): Promise<void> {
    this.stats.restocks++;
    for (const product of SHOP_PRODUCTS) {
      const reply = await this.options.send(
        'inventory.restock',
        { sku: product.sku, quantity: INITIAL_STOCK },
        { actor: 'warehouse', source: 'traffic-generator' },
      );
      if (reply.status === 'rejected')
        this.options.onError?.(
          new Error(`restock of ${product.sku}: ${reply.code}: ${reply.message}`),
        );
    }
  }
}
