import { ValidateBy, type ValidationOptions } from 'class-validator';

/** No sku twice among the lines (only judged once items is an array: other rules report the rest). */
export function UniqueSkus(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'uniqueSkus',
      validator: {
        validate: (items: unknown) =>
          !Array.isArray(items) ||
          new Set(items.map((item) => (item as { sku?: unknown } | null)?.sku)).size === items.length,
        defaultMessage: () => 'items must not contain a sku twice',
      },
    },
    options,
  );
}
