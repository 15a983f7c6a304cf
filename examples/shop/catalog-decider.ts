import {
  UnknownCommandError,
  type Command,
  type Decider,
  type DomainEvent,
} from '@causewayjs/core';

/** The stream of one product of the catalog: `product-<sku>`. */
export function productStream(sku: string): string {
  return `product-${sku}`;
}

/** What the catalog knows of a product. */
export interface ProductDetails {
  sku: string;
  name: string;
  /** Price of one unit, in cents. */
  price: number;
  category: string;
}

/** The commands the catalog accepts (one product per stream). */
export type CatalogCommand =
  | Command<'catalog.add-product', ProductDetails>
  | Command<'catalog.change-price', { price: number }>
  | Command<'catalog.discontinue', { reason: string }>;

/** The events the catalog records. */
export type CatalogEvent =
  | DomainEvent<'product.added', ProductDetails>
  | DomainEvent<'product.price-changed', { sku: string; from: number; to: number }>
  | DomainEvent<'product.discontinued', { sku: string; reason: string }>;

/** A product's state, folded from its events. */
export interface ProductState {
  status: 'none' | 'listed' | 'discontinued';
  product: ProductDetails | null;
}

/** A catalog command that breaks a catalog rule (bad price, unknown product...). */
export class CatalogRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogRuleError';
  }
}

function checkPrice(price: unknown): asserts price is number {
  if (typeof price !== 'number' || !Number.isInteger(price) || price < 0)
    throw new CatalogRuleError('A price must be a whole number of cents >= 0');
}

/**
 * The catalog of the shop example: products with a name, a price (cents) and a category.
 * Adding a product that is already listed with the same details is a no-op (so a retried
 * command is harmless); with other details it is refused.
 */
export const catalogDecider: Decider<CatalogCommand, CatalogEvent, ProductState> = {
  initialState: () => ({ status: 'none', product: null }),

  decide(command, state) {
    switch (command.type) {
      case 'catalog.add-product': {
        const { sku, name, price, category } = command.data;
        if (typeof sku !== 'string' || sku.length === 0)
          throw new CatalogRuleError('A product needs a sku');
        if (typeof name !== 'string' || name.length === 0)
          throw new CatalogRuleError(`Product ${sku} needs a name`);
        if (typeof category !== 'string' || category.length === 0)
          throw new CatalogRuleError(`Product ${sku} needs a category`);
        checkPrice(price);
        if (state.product) {
          const same =
            state.product.sku === sku &&
            state.product.name === name &&
            state.product.price === price &&
            state.product.category === category;
          if (same) return [];
          throw new CatalogRuleError(`Product ${state.product.sku} is already in the catalog`);
        }
        return [{ type: 'product.added', data: { sku, name, price, category } }];
      }
      case 'catalog.change-price': {
        const product = requireListed(state);
        checkPrice(command.data.price);
        if (command.data.price === product.price) return [];
        return [
          {
            type: 'product.price-changed',
            data: { sku: product.sku, from: product.price, to: command.data.price },
          },
        ];
      }
      case 'catalog.discontinue': {
        if (state.status === 'discontinued') return [];
        const product = requireListed(state);
        return [
          { type: 'product.discontinued', data: { sku: product.sku, reason: command.data.reason } },
        ];
      }
      default:
        throw new UnknownCommandError((command as { type: string }).type);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'product.added':
        return { status: 'listed', product: { ...event.data } };
      case 'product.price-changed':
        return state.product
          ? { ...state, product: { ...state.product, price: event.data.to } }
          : state;
      case 'product.discontinued':
        return { ...state, status: 'discontinued' };
      default:
        return state;
    }
  },
};

function requireListed(state: ProductState): ProductDetails {
  if (state.status !== 'listed' || !state.product)
    throw new CatalogRuleError(
      state.status === 'discontinued' ? 'The product is discontinued' : 'No such product',
    );
  return state.product;
}
