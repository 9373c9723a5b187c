import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, dollars, problemOf, type Order, type Outcome, type Product } from './api';

interface Props {
  customerId: string;
  onCustomerId: (value: string) => void;
  tokens: Array<{ token: string; outcome: string }>;
  inventoryState: string;
  /** Changes when an order ended: the stock moved, read the catalogue again. */
  refresh: number;
  onPlaced: (orderId: string) => void;
}

/** The catalogue (inventory's prices and stock), a cart, a payment token, and orders' answer. */
export function PlaceOrder({ customerId, onCustomerId, tokens, inventoryState, refresh, onPlaced }: Props) {
  const [catalogue, setCatalogue] = useState<Outcome<Product[]> | null>(null);
  const [cart, setCart] = useState<Record<string, number>>({});
  const [token, setToken] = useState('tok_visa');
  const [placing, setPlacing] = useState(false);
  const [answer, setAnswer] = useState<Outcome<Order> | null>(null);

  useEffect(() => {
    let cancelled = false;
    void api<Product[]>('/api/products').then((outcome) => {
      if (!cancelled) setCatalogue(outcome);
    });
    return () => {
      cancelled = true;
    };
    // read again when inventory comes back, and after an order moved the stock
  }, [inventoryState === 'up', refresh]);

  const products = catalogue?.ok && Array.isArray(catalogue.body) ? catalogue.body : [];
  const lines = Object.entries(cart).filter(([, quantity]) => quantity > 0);
  const estimate = useMemo(
    () => lines.reduce((sum, [sku, quantity]) => sum + (products.find((p) => p.sku === sku)?.price ?? 0) * quantity, 0),
    [lines, products],
  );
  const change = (sku: string, delta: number) =>
    setCart((current) => {
      const next = Math.max(0, Math.min(1000, (current[sku] ?? 0) + delta));
      const copy = { ...current, [sku]: next };
      if (!next) delete copy[sku];
      return copy;
    });

  const place = async (event: FormEvent) => {
    event.preventDefault();
    if (!lines.length || placing) return;
    setPlacing(true);
    const outcome = await api<Order>('/api/orders', {
      method: 'POST',
      headers: { 'idempotency-key': crypto.randomUUID() },
      body: JSON.stringify({
        customerId,
        items: lines.map(([sku, quantity]) => ({ sku, quantity })),
        paymentToken: token,
      }),
    });
    setPlacing(false);
    setAnswer(outcome);
    if (outcome.ok && outcome.body?.id) {
      setCart({});
      onPlaced(outcome.body.id);
    }
  };

  return (
    <form onSubmit={place} aria-describedby="order-answer">
      <h3>Catalogue</h3>
      {!catalogue && <p className="muted">Reading the catalogue from inventory…</p>}
      {catalogue && !catalogue.ok && (
        <p className="notice notice-down" role="alert" data-testid="catalogue-problem">
          The catalogue cannot be shown: {problemOf(catalogue)}. It is read again when inventory is back.
        </p>
      )}
      {products.length > 0 && (
        <table className="table catalogue" data-testid="catalogue">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" className="num">
                Price
              </th>
              <th scope="col" className="num">
                Stock
              </th>
              <th scope="col">
                <span className="sr-only">Add</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {products.map((product) => (
              <tr key={product.sku} data-sku={product.sku}>
                <td>
                  <span className="sku">{product.sku}</span> {product.name}
                </td>
                <td className="num">{dollars(product.price)}</td>
                <td className="num">
                  {product.available}
                  {product.reserved > 0 && <span className="muted"> (+{product.reserved} held)</span>}
                </td>
                <td className="num">
                  <button
                    type="button"
                    className="small"
                    onClick={() => change(product.sku, 1)}
                    disabled={(cart[product.sku] ?? 0) >= 1000}
                    aria-label={`Add one ${product.name} (${product.sku}) to the cart`}
                  >
                    Add
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h3>Cart</h3>
      {lines.length === 0 ? (
        <p className="muted" data-testid="cart-empty">
          Empty: add products above.
        </p>
      ) : (
        <ul className="cart" data-testid="cart">
          {lines.map(([sku, quantity]) => {
            const product = products.find((p) => p.sku === sku);
            return (
              <li key={sku}>
                <span className="cart-name">
                  <span className="sku">{sku}</span> {product?.name ?? ''}
                </span>
                <span className="cart-qty">
                  <button
                    type="button"
                    className="small"
                    onClick={() => change(sku, -1)}
                    aria-label={`One ${sku} less`}
                  >
                    −
                  </button>
                  <output aria-label={`Quantity of ${sku}`}>{quantity}</output>
                  <button type="button" className="small" onClick={() => change(sku, 1)} aria-label={`One ${sku} more`}>
                    +
                  </button>
                </span>
                <span className="num">{product ? dollars(product.price * quantity) : ''}</span>
              </li>
            );
          })}
          <li className="cart-total">
            <span>Estimate (inventory sets the price)</span>
            <span className="num">{dollars(estimate)}</span>
          </li>
        </ul>
      )}

      <div className="fields">
        <label>
          Customer
          <input
            value={customerId}
            onChange={(event) => onCustomerId(event.target.value)}
            maxLength={64}
            required
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        <label>
          Payment token
          <select value={token} onChange={(event) => setToken(event.target.value)} data-testid="token">
            {(tokens.length ? tokens : [{ token: 'tok_visa', outcome: 'captures' }]).map((option) => (
              <option key={option.token} value={option.token}>
                {option.token} ({option.outcome})
              </option>
            ))}
          </select>
        </label>
      </div>
      <button type="submit" className="primary" disabled={!lines.length || placing || !customerId}>
        {placing ? 'Placing…' : 'Place order'}
      </button>

      <div id="order-answer" className="answer" aria-live="polite" data-testid="order-answer">
        {answer && answer.ok && answer.body && (
          <p className="notice notice-ok">
            orders answered {answer.status}: order <code>{answer.body.id.slice(0, 8)}</code> is {answer.body.status}.
            Its steps appear under “The saga, live”.
          </p>
        )}
        {answer && !answer.ok && (
          <p className="notice notice-down" role="alert">
            Not placed: {problemOf(answer)}
          </p>
        )}
      </div>
    </form>
  );
}
