import { useMemo, useState } from 'react';
import { api, clock, problemOf, type DeadLetter, type RedriveSummary, type SystemSnapshot } from './api';
import { StatusChart } from './StatusChart';

const keyOf = (app: string, letter: DeadLetter) => `${app}|${letter.queue}|${letter.messageId ?? ''}`;

function age(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.round(seconds / 60)} min`;
}

/** Each app's readiness, outbox and broker connection; orders by status; the dead letters, to redrive. */
export function SystemPanel({ system }: { system: SystemSnapshot | null }) {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [redriving, setRedriving] = useState(false);
  const [results, setResults] = useState<string[]>([]);

  const letters = useMemo(
    () => (system?.apps ?? []).flatMap((app) => app.deadLetters.items.map((letter) => ({ app: app.name, letter }))),
    [system],
  );
  const present = new Set(letters.map(({ app, letter }) => keyOf(app, letter)));
  const chosen = [...selected].filter((key) => present.has(key));
  const selectable = letters.filter(({ letter }) => letter.messageId);
  const allChosen = selectable.length > 0 && chosen.length === selectable.length;
  const unread = (system?.apps ?? []).filter((app) => app.deadLetters.error).map((app) => app.name);

  const toggle = (key: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const redrive = async () => {
    const groups = new Map<string, { app: string; queue: string; messageIds: string[] }>();
    for (const { app, letter } of letters) {
      if (!letter.messageId || !chosen.includes(keyOf(app, letter))) continue;
      const group = groups.get(`${app}|${letter.queue}`) ?? { app, queue: letter.queue, messageIds: [] };
      group.messageIds.push(letter.messageId);
      groups.set(`${app}|${letter.queue}`, group);
    }
    setRedriving(true);
    const lines: string[] = [];
    for (const group of groups.values()) {
      const outcome = await api<RedriveSummary>('/api/dead-letters/redrive', {
        method: 'POST',
        body: JSON.stringify(group),
      });
      if (outcome.ok && outcome.body) {
        const s = outcome.body;
        lines.push(
          `${group.queue}: ${s.redriven.length} redriven` +
            (s.notFound.length ? `, ${s.notFound.length} no longer there` : '') +
            (s.skipped.length ? `, ${s.skipped.length} skipped (${s.skipped.map((k) => k.reason).join('; ')})` : ''),
        );
      } else {
        lines.push(`${group.queue}: not redriven: ${problemOf(outcome)}`);
      }
    }
    setRedriving(false);
    setResults(lines);
    setSelected(new Set());
  };

  if (!system) return <p className="muted">Reading every app's health, metrics and dead letters…</p>;

  return (
    <div className="system">
      <div className="system-top">
        <div className="system-apps">
          <div className="scroll">
            <table className="table apps" data-testid="apps">
              <thead>
                <tr>
                  <th scope="col">App</th>
                  <th scope="col">Readiness</th>
                  <th scope="col">Broker</th>
                  <th scope="col" className="num">
                    Outbox
                  </th>
                  <th scope="col" className="num">
                    Oldest
                  </th>
                  <th scope="col" className="num">
                    Dead letters
                  </th>
                </tr>
              </thead>
              <tbody>
                {system.apps.map((app) => (
                  <tr key={app.name} data-app={app.name} data-state={app.state} className={`app-${app.state}`}>
                    <th scope="row">{app.name}</th>
                    <td className="readiness" data-label="readiness">
                      <span className={`badge badge-${app.state}`}>
                        {app.state === 'up' ? 'ready' : app.state === 'down' ? 'down' : 'not ready'}
                      </span>
                      {app.state !== 'up' && <span className="detail">{app.readiness}</span>}
                    </td>
                    <td data-label="broker">
                      {app.broker.connected === null ? '—' : app.broker.connected ? 'connected' : 'disconnected'}
                      {app.broker.node && <span className="muted detail">{app.broker.node}</span>}
                    </td>
                    <td className="num" data-label="outbox">
                      {app.outbox.backlog ?? '—'}
                    </td>
                    <td className="num" data-label="oldest">
                      {age(app.outbox.oldestAgeSeconds)}
                    </td>
                    <td className="num" data-label="dead letters">
                      {app.deadLetters.error ? '—' : app.deadLetters.items.length}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="muted small-print">
            Read {clock(system.at)}, every few seconds, from each app's /health/ready, /metrics and /admin/dead-letters.
          </p>
        </div>
        <div className="system-chart">
          <h3>Orders by status</h3>
          <StatusChart points={system.history} />
        </div>
      </div>

      <h3>Dead letters</h3>
      {system.apps
        .filter((app) => app.deadLetters.error && app.state !== 'down')
        .map((app) => (
          <p key={app.name} className="notice notice-degraded">
            {app.name}: {app.deadLetters.error}
          </p>
        ))}
      {letters.length === 0 ? (
        <p className="muted" data-testid="no-dead-letters">
          {unread.length
            ? `No dead letter in the queues that could be read (not read: ${unread.join(', ')}).`
            : 'No dead letter in any queue.'}
        </p>
      ) : (
        <>
          <div className="scroll">
            <table className="table dead-letters" data-testid="dead-letters">
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select every dead letter"
                      checked={allChosen}
                      onChange={() =>
                        setSelected(
                          allChosen ? new Set() : new Set(selectable.map(({ app, letter }) => keyOf(app, letter))),
                        )
                      }
                    />
                  </th>
                  <th scope="col">Queue</th>
                  <th scope="col">Event</th>
                  <th scope="col">Reason</th>
                  <th scope="col" className="num">
                    Tries
                  </th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {letters.map(({ app, letter }) => {
                  const key = keyOf(app, letter);
                  return (
                    <tr key={key} data-message-id={letter.messageId ?? ''} data-reason={letter.reason}>
                      <td>
                        <input
                          type="checkbox"
                          disabled={!letter.messageId}
                          checked={selected.has(key)}
                          onChange={() => toggle(key)}
                          aria-label={`Select ${letter.type ?? 'message'} ${letter.messageId ?? ''} of ${letter.queue}`}
                        />
                      </td>
                      <td className="queue">{letter.queue}</td>
                      <td>
                        <span className="event-type">{letter.type ?? '?'}</span>
                        <details>
                          <summary>
                            <code>{(letter.messageId ?? 'no id').slice(0, 8)}</code>
                          </summary>
                          <pre>{JSON.stringify(letter.body, null, 2)}</pre>
                        </details>
                      </td>
                      <td>
                        <strong className="reason">{letter.reason}</strong>
                        {letter.error && <span className="detail">{letter.error}</span>}
                      </td>
                      <td className="num">
                        {letter.attempts}
                        {letter.redrives ? <span className="muted"> ({letter.redrives}× redriven)</span> : null}
                      </td>
                      <td className="time">{clock(letter.firstDeadLetteredAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <button
            type="button"
            className="primary"
            disabled={!chosen.length || redriving}
            onClick={() => void redrive()}
          >
            {redriving ? 'Redriving…' : `Redrive selected (${chosen.length})`}
          </button>
        </>
      )}
      <div aria-live="polite" data-testid="redrive-result">
        {results.map((line) => (
          <p key={line} className="notice notice-ok">
            {line}
          </p>
        ))}
      </div>
    </div>
  );
}
