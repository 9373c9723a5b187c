import { BadRequestException, type PipeTransform } from '@nestjs/common';

/** A sku in a path: 1 to 64 characters, as in orders. */
export class SkuPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (value.length < 1 || value.length > 64) throw new BadRequestException(['sku must be 1 to 64 characters']);
    return value;
  }
}
