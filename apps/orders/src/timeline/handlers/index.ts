import { OrderTimelineProjection } from './order-timeline.projection';

/** The timeline's subscription: every event of every app, on a queue of its own (never holding up the saga's). */
export const TIMELINE_HANDLERS = [OrderTimelineProjection];
