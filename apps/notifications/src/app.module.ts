import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { Notifications1732400000000 } from './migrations/1732400000000-notifications';
import { NotificationStream } from './notification-stream';
import { NotificationsController } from './notifications.controller';
import { NOTIFICATION_HANDLERS } from './handlers';
import { NotificationsService } from './notifications.service';
import { NOTIFICATIONS_SETTINGS, type NotificationsSettings } from './settings';

@Module({})
export class NotificationsModule {
  static forRoot(settings: NotificationsSettings): DynamicModule {
    return {
      module: NotificationsModule,
      imports: [
        databaseModule({ ...databaseConnection(settings), migrations: [Notifications1732400000000] }),
        MessagingModule.forRoot({
          app: 'notifications',
          ...brokerConnection(settings),
          // Published for whoever wants it: no service of this system subscribes to it.
          outbox: { unroutableAllowed: ['notification.sent'] },
        }),
        PlatformModule,
      ],
      controllers: [NotificationsController, ...NOTIFICATION_HANDLERS],
      providers: [{ provide: NOTIFICATIONS_SETTINGS, useValue: settings }, NotificationsService, NotificationStream],
    };
  }
}
