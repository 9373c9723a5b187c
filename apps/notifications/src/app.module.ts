import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { NOTIFICATIONS_SETTINGS, type NotificationsSettings } from './config/notifications.settings';
import { Notifications1732400000000 } from './migrations/1732400000000-notifications';
import { NOTIFICATION_HANDLERS } from './notifications/handlers';
import { NotificationStream } from './notifications/notification-stream';
import { NotificationsController } from './notifications/notifications.controller';
import { NotificationsService } from './notifications/notifications.service';

@Module({})
export class AppModule {
  static forRoot(settings: NotificationsSettings): DynamicModule {
    return {
      module: AppModule,
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
