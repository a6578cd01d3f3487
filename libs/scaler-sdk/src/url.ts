/** URLs in messages. */
/** `scheme://host[:port]/path` without credentials, query or fragment: safe for messages and logs. */
export function displayUrl(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}
