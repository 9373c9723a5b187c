export const MESSAGING_OPTIONS = Symbol.for('shop.messaging.options');
