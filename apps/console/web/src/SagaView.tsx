import { useEffect, useRef, useState } from 'react';
import { api, clock, dollars, useEventStream, type CustomerNotification, type Order, type SagaStep } from './api';

interface Props {
  orderId: string | null;
  customerId: string;
  onSelect: (orderId: string) => void;
  onFinal: () => void;
  jaeger: boolean;
  refresh: number;
}

const SERVICES = ['orders', 'inventory', 'payments', 'notifications'] as const;

/** The stages of the saga, each done by one event (or failed by another). */
const STAGES = [
  { label: 'Placed', app: 'orders', done: ['order.placed'], failed: [] },
  { label: 'Reserved', app: 'inventory', done: ['inventory.reserved'], failed: ['inventory.rejected'] },
  { label: 'Captured', app: 'payments', done: ['payment.captured'], failed: ['payment.declined'] },
  { label: 'Confirmed', app: 'orders', done: ['order.confirmed'], failed: ['order.cancelled'] },
  { label: 'Notified', app: 'notifications', done: ['notification.sent'], failed: [] },
] as const;

/** One order's saga as its events arrive (SSE), its customer's notifications, and their recent orders. */
export function SagaView({ orderId, customerId, onSelect, onFinal, jaeger, refresh }: Props) {
  const [order, setOrder] = useState<Order | null>(null);
  const [steps, setSteps] = useState<SagaStep[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [notifications, setNotifications] = useState<CustomerNotification[]>([]);
  const [notificationProblem, setNotificationProblem] = useState<string | null>(null);
  const [recent, setRecent] = useState<Order[]>([]);
  const finalSeen = useRef(false);

  const orderStream = useEventStream(orderId ? `/api/live/orders/${orderId}` : null, {
    order: (data: Order) => setOrder(data),
    step: (data: SagaStep) =>
      setSteps((current) => (current.some((step) => step.id === data.id) ? current : [...current, data])),
    problem: (data: { message: string | null }) => setProblem(data.message),
  });
  useEventStream(customerId ? `/api/live/notifications?customerId=${encodeURIComponent(customerId)}` : null, {
    notification: (data: CustomerNotification) =>
      setNotifications((current) => (current.some((n) => n.id === data.id) ? current : [data, ...current])),
    problem: (data: { message: string | null }) => setNotificationProblem(data.message),
  });

  useEffect(() => {
    if (order && order.status !== 'PENDING' && !finalSeen.current) {
      finalSeen.current = true;
      onFinal();
    }
  }, [order, onFinal]);

  useEffect(() => {
    if (!customerId) return undefined;
    let cancelled = false;
    void api<{ items: Order[] }>(`/api/orders?customerId=${encodeURIComponent(customerId)}`).then((outcome) => {
      if (!cancelled && outcome.ok && outcome.body) setRecent(outcome.body.items);
    });
    return () => {
      cancelled = true;
    };
  }, [customerId, orderId, order?.status, refresh]);

  const start = steps.length ? Date.parse(steps[0].time) : NaN;
  const types = new Set(steps.map((step) => step.type));
  const theirs = notifications.filter((n) => !orderId || n.orderId === orderId);
  const others = notifications.filter((n) => orderId && n.orderId !== orderId);

  return (
    <div className="saga">
      {!orderId && (
        <p className="muted">Place an order (or pick one below) to watch it travel through the four services.</p>
      )}
      {orderId && (
        <>
          <div className="order-head" data-testid="order-head">
            <div>
              Order <code title={orderId}>{orderId.slice(0, 8)}</code> of <span>{order?.customerId ?? customerId}</span>
            </div>
            <div>
              <span
                className={`status status-${(order?.status ?? 'PENDING').toLowerCase()}`}
                data-testid="order-status"
              >
                {order?.status ?? '…'}
              </span>
              {order?.cancellationReason && (
                <span className="reason" data-testid="order-reason">
                  {order.cancellationReason}
                </span>
              )}
              {order && <span className="total">{dollars(order.total)}</span>}
            </div>
          </div>
          <ol className="stages" aria-label="Stages">
            {STAGES.map((stage) => {
              const failed = stage.failed.some((type) => types.has(type));
              const done = stage.done.some((type) => types.has(type));
              const state = failed ? 'failed' : done ? 'done' : 'waiting';
              return (
                <li key={stage.label} className={`stage stage-${state}`} data-stage={stage.label} data-state={state}>
                  <span className="stage-label">{stage.label}</span>
                  <span className="stage-app">{stage.app}</span>
                  <span className="stage-state">{state === 'failed' ? 'refused' : state}</span>
                </li>
              );
            })}
          </ol>
          {problem && (
            <p className="notice notice-down" role="alert" data-testid="saga-problem">
              {problem}
            </p>
          )}
          {orderStream === 'reconnecting' && <p className="notice notice-degraded">Live steps: reconnecting…</p>}
          <table className="table steps" data-testid="steps" aria-live="polite">
            <caption className="sr-only">Events of the order, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                {SERVICES.map((service) => (
                  <th scope="col" key={service} className="lane-head">
                    {service}
                  </th>
                ))}
                <th scope="col">Trace</th>
              </tr>
            </thead>
            <tbody>
              {steps.length === 0 && (
                <tr>
                  <td colSpan={SERVICES.length + 2} className="muted">
                    Waiting for the first event…
                  </td>
                </tr>
              )}
              {steps.map((step) => (
                <tr
                  key={step.id}
                  className={`step step-${step.path}`}
                  data-step-id={step.id}
                  data-step-type={step.type}
                  data-producer={step.producer}
                >
                  <td className="time">
                    {clock(step.time)}
                    {!Number.isNaN(start) && (
                      <span className="muted"> +{((Date.parse(step.time) - start) / 1000).toFixed(2)}s</span>
                    )}
                  </td>
                  {SERVICES.map((service) => (
                    <td key={service} className={`lane lane-${service}`}>
                      {step.producer === service && (
                        <span className="event">
                          <span className="event-type">{withBreaks(step.type)}</span>
                          <span className="event-summary">{withBreaks(step.summary)}</span>
                          <span className="event-producer sr-only">by {step.producer}</span>
                        </span>
                      )}
                    </td>
                  ))}
                  <td>
                    {step.traceUrl ? (
                      <a
                        href={step.traceUrl}
                        target="_blank"
                        rel="noreferrer"
                        aria-label={`Trace of ${step.type} in Jaeger`}
                      >
                        trace
                      </a>
                    ) : (
                      <span className="muted" title={jaeger ? 'no trace id' : 'tracing links are off (JAEGER_UI_URL)'}>
                        {step.traceId ? step.traceId.slice(0, 8) : '—'}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      <h3>Notifications of {customerId || '…'}</h3>
      {notificationProblem && (
        <p className="notice notice-down" role="alert">
          {notificationProblem}
        </p>
      )}
      <ul className="notifications" data-testid="notifications" aria-live="polite">
        {theirs.length === 0 && others.length === 0 && <li className="muted">None yet.</li>}
        {[...theirs, ...others].slice(0, 8).map((n) => (
          <li key={n.id} className={n.orderId === orderId ? 'mine' : ''} data-type={n.type}>
            <span className="time">{clock(n.createdAt)}</span> <strong>{n.type}</strong> {n.message}
          </li>
        ))}
      </ul>

      {recent.length > 0 && (
        <>
          <h3>Recent orders of {customerId}</h3>
          <ul className="recent">
            {recent.slice(0, 6).map((r) => (
              <li key={r.id}>
                <button type="button" className="link" onClick={() => onSelect(r.id)} aria-current={r.id === orderId}>
                  <code>{r.id.slice(0, 8)}</code> {r.status}
                  {r.cancellationReason ? ` (${r.cancellationReason})` : ''} {dollars(r.total)}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/**
 * `inventory.reserved` may wrap after its dot and `PAYMENT_DECLINED` after its underscore, not in the
 * middle of a word: the lanes are narrow.
 */
function withBreaks(text: string) {
  return text.split(/(?<=[A-Za-z][._])(?=[A-Za-z])/).map((part, index, parts) => (
    <span key={index}>
      {part}
      {index < parts.length - 1 && <wbr />}
    </span>
  ));
}
