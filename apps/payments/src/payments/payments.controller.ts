import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { RequiresScope, QueryParams } from '@shop/platform';
import { PaymentResponse } from './dto/payment-response.dto';
import { PaymentsQuery } from './dto/payments-query.dto';
import { PaymentsService } from './payments.service';

@ApiTags('payments')
@Controller('payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Get()
  @RequiresScope('payments:read')
  @ApiOkResponse({ type: [PaymentResponse] })
  async list(@QueryParams() query: PaymentsQuery): Promise<PaymentResponse[]> {
    return (await this.payments.findByOrder(query.orderId)).map(PaymentResponse.of);
  }
}
