import { Body, Controller, Get, Param, Put, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { RequiresScope } from '@shop/platform';
import type { Response } from 'express';
import { ProductInput } from './dto/product-input.dto';
import { ProductResponse } from './dto/product-response.dto';
import { ProductsService } from './products.service';
import { SkuPipe } from './sku.pipe';

@ApiTags('products')
@Controller('products')
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Get()
  @ApiOkResponse({ type: [ProductResponse] })
  list(): Promise<ProductResponse[]> {
    return this.products.list();
  }

  @Get(':sku')
  @ApiOkResponse({ type: ProductResponse })
  get(@Param('sku', SkuPipe) sku: string): Promise<ProductResponse> {
    return this.products.get(sku);
  }

  /** Creates (201) or replaces (200) a product. `available` is set as given; what is reserved or sold stays. */
  @Put(':sku')
  @RequiresScope('inventory:write')
  @ApiOkResponse({ type: ProductResponse, description: 'replaced (201 when created)' })
  async put(
    @Param('sku', SkuPipe) sku: string,
    @Body() input: ProductInput,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ProductResponse> {
    const { product, created } = await this.products.put(sku, input);
    res.status(created ? 201 : 200);
    return product;
  }
}
