export interface RedactUrlOptions {
  /** Query parameters to leave out as well (e.g. amqplib's `heartbeat`). */
  withoutParams?: readonly string[];
  /**
   * What to show of a string that is no URL; `<unparsable URL>` by default, as such a string may
   * still hold a password.
   */
  unparsable?: (text: string) => string;
}

/** The URL with its password replaced by `***`, for logs and error messages; the given URL is left as it is. */
export function redactUrl(url: string | URL, options: RedactUrlOptions = {}): string {
  let copy: URL;
  try {
    copy = new URL(url);
  } catch {
    return options.unparsable ? options.unparsable(String(url)) : '<unparsable URL>';
  }
  if (copy.password) copy.password = '***';
  for (const name of options.withoutParams ?? []) copy.searchParams.delete(name);
  return copy.toString();
}
