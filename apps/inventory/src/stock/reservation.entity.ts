/** A line of an order as inventory holds it: so many units of a sku. */
export interface ReservationLine {
  sku: string;
  quantity: number;
}

/** A reserved line, with the unit price it was reserved at (cents). */
export interface PricedLine extends ReservationLine {
  unitPrice: number;
}

/**
 * Where an order's stock is: CLAIMED while its reservation is being decided, then RESERVED or
 * REJECTED; SOLD once confirmed, RELEASED once cancelled. CANCELLED marks an order cancelled before
 * inventory saw it, so that it never reserves.
 */
export type ReservationStatus = 'CLAIMED' | 'RESERVED' | 'SOLD' | 'RELEASED' | 'REJECTED' | 'CANCELLED';

/** One row of `reservations` (one per order seen), as read under its lock. */
export interface Reservation {
  status: ReservationStatus;
  lines: PricedLine[];
}
