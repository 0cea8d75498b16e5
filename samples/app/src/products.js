'use strict';

/** The catalog. A real shop reads it from a database; the sample keeps it in memory. */
const PRODUCTS = Object.freeze([
  Object.freeze({ id: 'p-1001', name: 'Contoso Mug', priceEur: 9.5, inStock: true }),
  Object.freeze({ id: 'p-1002', name: 'Contoso Hoodie', priceEur: 49, inStock: true }),
  Object.freeze({ id: 'p-1003', name: 'Contoso Sticker Pack', priceEur: 4, inStock: false }),
]);

module.exports = { PRODUCTS };
