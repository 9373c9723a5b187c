import { useCallback, useEffect, useState } from 'react';
import { useEventStream, type ConsoleConfig, type SystemSnapshot } from './api';
import { PlaceOrder } from './PlaceOrder';
import { SagaView } from './SagaView';
import { SystemPanel } from './SystemPanel';

const CUSTOMER_KEY = 'console.customerId';

/** What a person sees happen while an app is away. */
const CONSEQUENCES: Record<string, string> = {
  orders: 'Orders can be neither placed nor followed until it is back.',
  inventory: 'The catalogue cannot be read; new orders wait for their stock.',
  payments: 'New orders wait (PENDING) for their payment until it is back.',
  notifications: 'Customers are told once it is back: their notices wait in its queues.',
  bridge: 'HTTP producers cannot publish, and webhooks wait.',
};

function initialCustomer(): string {
  try {
    const saved = window.localStorage.getItem(CUSTOMER_KEY);
    if (saved) return saved;
  } catch {
    // storage refused: a new one each time
  }
  return `c-${Math.random().toString(16).slice(2, 8)}`;
}

/** The operations console: place an order, watch its saga live, see the system and redrive dead letters. */
export function App() {
  const [config, setConfig] = useState<ConsoleConfig | null>(null);
  const [configProblem, setConfigProblem] = useState<string | null>(null);
  const [system, setSystem] = useState<SystemSnapshot | null>(null);
  const [customerId, setCustomerIdState] = useState(initialCustomer);
  const [orderId, setOrderId] = useState<string | null>(null);
  const [finalCount, setFinalCount] = useState(0);

  useEffect(() => {
    void fetch('/api/config')
      .then((response) =>
        response.ok ? (response.json() as Promise<ConsoleConfig>) : Promise.reject(new Error(String(response.status))),
      )
      .then(setConfig)
      .catch((error: Error) => setConfigProblem(`the console does not answer (${error.message}): reload the page`));
  }, []);

  const streamState = useEventStream('/api/live/system', { system: (data: SystemSnapshot) => setSystem(data) });

  const setCustomerId = useCallback((value: string) => {
    setCustomerIdState(value);
    try {
      window.localStorage.setItem(CUSTOMER_KEY, value);
    } catch {
      // not kept
    }
  }, []);

  const stateOf = (app: string) => system?.apps.find((status) => status.name === app)?.state ?? 'unknown';
  const down = system?.apps.filter((app) => app.state !== 'up') ?? [];
  const onFinal = useCallback(() => setFinalCount((n) => n + 1), []);

  return (
    <>
      <a className="skip" href="#saga">
        Skip to the saga
      </a>
      <header className="top">
        <h1>Shop operations console</h1>
        <ul className="chips" aria-label="Apps">
          {(system?.apps ?? []).map((app) => (
            <li
              key={app.name}
              className={`chip chip-${app.state}`}
              data-testid={`chip-${app.name}`}
              title={app.readiness}
            >
              <span className="dot" aria-hidden="true" />
              {app.name}{' '}
              <span className="chip-state">
                {app.state === 'up' ? 'up' : app.state === 'down' ? 'down' : 'not ready'}
              </span>
            </li>
          ))}
          {!system && <li className="chip chip-unknown">reading the apps…</li>}
        </ul>
      </header>
      <div className="alerts" role="status" aria-live="polite">
        {configProblem && <p className="alert alert-down">{configProblem}</p>}
        {streamState === 'reconnecting' && (
          <p className="alert alert-degraded">The console's live connection dropped: reconnecting…</p>
        )}
        {down.map((app) => (
          <p key={app.name} className={`alert alert-${app.state}`} data-testid={`alert-${app.name}`}>
            <strong>
              {app.name} is {app.state === 'down' ? 'down' : 'not ready'}
            </strong>
            : {app.readiness}. {CONSEQUENCES[app.name] ?? ''}
          </p>
        ))}
      </div>
      <main className="layout">
        <section className="panel panel-order" aria-labelledby="order-title">
          <h2 id="order-title">Place an order</h2>
          <PlaceOrder
            customerId={customerId}
            onCustomerId={setCustomerId}
            tokens={config?.paymentTokens ?? []}
            inventoryState={stateOf('inventory')}
            refresh={finalCount}
            onPlaced={(id) => {
              setOrderId(id);
              // one column (a phone): the saga is below the form, bring it into view
              if (window.matchMedia('(max-width: 1099px)').matches) {
                document.getElementById('saga')?.scrollIntoView({ block: 'start' });
              }
            }}
          />
        </section>
        <section className="panel panel-saga" id="saga" aria-labelledby="saga-title" tabIndex={-1}>
          <h2 id="saga-title">The saga, live</h2>
          <SagaView
            key={orderId ?? 'none'}
            orderId={orderId}
            customerId={customerId}
            onSelect={setOrderId}
            onFinal={onFinal}
            jaeger={!!config?.jaegerUiUrl}
            refresh={finalCount}
          />
        </section>
        <section className="panel panel-system" aria-labelledby="system-title">
          <h2 id="system-title">The system</h2>
          <SystemPanel system={system} />
        </section>
      </main>
    </>
  );
}
