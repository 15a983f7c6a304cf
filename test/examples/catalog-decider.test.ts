import { describe, it } from 'vitest';
import { UnknownCommandError, deciderSpecification } from '@causewayjs/core';
import {
  CatalogRuleError,
  catalogDecider,
  type CatalogCommand,
  type CatalogEvent,
} from '../../examples/shop/catalog-decider.js';

const given = deciderSpecification(catalogDecider);
const tea = { sku: 'tea', name: 'Green tea', price: 450, category: 'drinks' };
const added: CatalogEvent = { type: 'product.added', data: tea };

describe('catalog decider', () => {
  it('adds a product with its price and category', async () => {
    await given([]).when({ type: 'catalog.add-product', data: tea }).then([added]);
    await given([])
      .when({ type: 'catalog.add-product', data: tea })
      .thenState({ status: 'listed', product: tea });
  });

  it('treats adding the same product again as a no-op, and refuses other details', async () => {
    await given([added]).when({ type: 'catalog.add-product', data: tea }).thenNothing();
    await given([added])
      .when({ type: 'catalog.add-product', data: { ...tea, price: 500 } })
      .thenThrows(CatalogRuleError);
  });

  it('refuses bad prices and missing fields', async () => {
    await given([])
      .when({ type: 'catalog.add-product', data: { ...tea, price: -1 } })
      .thenThrows(CatalogRuleError);
    await given([])
      .when({ type: 'catalog.add-product', data: { ...tea, price: 4.5 } })
      .thenThrows(CatalogRuleError);
    await given([])
      .when({ type: 'catalog.add-product', data: { ...tea, category: '' } })
      .thenThrows(CatalogRuleError, (e) => /category/.test((e as Error).message));
  });

  it('changes a price, and ignores a change to the same price', async () => {
    await given([added])
      .when({ type: 'catalog.change-price', data: { price: 500 } })
      .then([{ type: 'product.price-changed', data: { sku: 'tea', from: 450, to: 500 } }]);
    await given([added])
      .when({ type: 'catalog.change-price', data: { price: 450 } })
      .thenNothing();
    await given([])
      .when({ type: 'catalog.change-price', data: { price: 1 } })
      .thenThrows(CatalogRuleError);
  });

  it('discontinues a product once; a discontinued product has no price changes', async () => {
    const discontinued: CatalogEvent = {
      type: 'product.discontinued',
      data: { sku: 'tea', reason: 'season over' },
    };
    await given([added])
      .when({ type: 'catalog.discontinue', data: { reason: 'season over' } })
      .then([discontinued]);
    await given([added, discontinued])
      .when({ type: 'catalog.discontinue', data: { reason: 'again' } })
      .thenNothing();
    await given([added, discontinued])
      .when({ type: 'catalog.change-price', data: { price: 1 } })
      .thenThrows(CatalogRuleError, (e) => /discontinued/.test((e as Error).message));
  });

  it('refuses an unknown command', async () => {
    await given([])
      .when({ type: 'catalog.delete', data: {} } as unknown as CatalogCommand)
      .thenThrows(UnknownCommandError);
  });
});
