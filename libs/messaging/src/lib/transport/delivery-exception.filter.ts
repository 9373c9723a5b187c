import { Catch, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * The last exception filter of every `@ConsumeEvent` handler: hands the error to the transport as it
 * is, so that the transport can tell a duplicate, an outage, a rejection and a failure worth retrying
 * apart (README: what a failure means). Nest's default filter would log it and replace it with
 * `{ status: 'error', message: 'Internal server error' }`; the transport logs every outcome itself.
 */
@Catch()
export class DeliveryExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (host.getType() !== 'rpc') {
      throw new Error('@ConsumeEvent handlers are for events only: keep HTTP routes in a controller of their own');
    }
    return throwError(() => exception);
  }
}
