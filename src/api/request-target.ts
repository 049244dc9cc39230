/** What a request's target (its path and query) says, read before any route handles it. */

/**
 * The query parser keeps a malformed %-sequence as literal text (`?reason=%ff` would be stored as
 * "%ff"), while a malformed path is refused (FST_ERR_BAD_URL): the query is held to the same rule.
 */
export function wellEncodedQuery(url: string): boolean {
  const q = url.indexOf('?');
  if (q === -1 || !url.includes('%', q)) return true;
  try {
    decodeURIComponent(url.slice(q + 1));
    return true;
  } catch {
    return false;
  }
}

/** The request target without its fragment. */
export function withoutFragment(request: { url?: string }): string {
  const url = request.url ?? '/';
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}

/**
 * The first path segments under /v1/ that are fixed words of a route (`migrations`, `queue`): a
 * path under one that no route serves, like GET /v1/migrations/runs, falls through to
 * `/v1/:entity/:id`, and is a missing route, not an unknown entity.
 */
export function fixedSegmentOf(url: string): string | undefined {
  return /^\/v1\/([^/:]+)/.exec(url)?.[1];
}

/** `bulk-delete` of `/v1/:entity/bulk-delete`: another method on it is no request for a row of that id. */
export function entityActionOf(url: string): string | undefined {
  return /^\/v1\/:entity\/([^/:]+)$/.exec(url)?.[1];
}
