const KEY = "gf.token";

/**
 * The token from the URL fragment (`#token=…`, which browsers never send to a server) when there
 * is one, else the one kept for this tab. A fragment token is kept and removed from the address
 * bar at once, so it stays out of history and screenshots.
 */
export function initialToken(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match?.[1]) {
    const token = decodeURIComponent(match[1]);
    sessionStorage.setItem(KEY, token);
    history.replaceState(history.state, "", location.pathname + location.search);
    return token;
  }
  return sessionStorage.getItem(KEY);
}

export function keepToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
