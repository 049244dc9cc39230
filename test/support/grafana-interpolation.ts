/**
 * What Grafana makes of a provisioned string (pkg/services/provisioning/values interpolateValue):
 * the text is split on `$$`, each part goes through os.ExpandEnv (`$NAME` and `${NAME}`; an unset
 * variable becomes empty), and the parts are joined with a literal `$`.
 */
export function grafanaProvisioned(text: string, env: Record<string, string> = {}): string {
  return text
    .split('$$')
    .map((part) =>
      part.replace(
        /\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g,
        (_m, braced: string | undefined, bare: string | undefined) => {
          return env[(braced ?? bare) as string] ?? '';
        },
      ),
    )
    .join('$');
}

/**
 * What a Grafana-managed alert's annotation reads in a notification: provisioning stores it as
 * written (annotations are not interpolated), then Grafana expands it as a Go template at each
 * evaluation. Only the link base is modelled: `{{ externalURL }}`, Grafana's root_url, which Grafana
 * always ends with `/`. The rest is checked for what the template engine needs (single `$`).
 */
export function grafanaAnnotation(text: string, rootUrl: string): string {
  const externalUrl = rootUrl.endsWith('/') ? rootUrl : `${rootUrl}/`;
  return text.replaceAll('{{ externalURL }}', externalUrl);
}

/**
 * Grafana's link-variable interpolation at click time (`${name}`, `$name`), for the variables a
 * test supplies; throws on any other, so a link cannot rely on a variable nobody fills.
 */
export function fillLinkVariables(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z0-9_.]+)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a, b) => {
    const value = values[(a ?? b) as string];
    if (value === undefined) throw new Error(`no value for ${whole} in ${text}`);
    return value;
  });
}

/** The queries of an `/explore?...&panes=<json>` URL, with the pane's data source. */
export function explorePanes(url: string): { datasource: string; queries: Record<string, unknown>[] }[] {
  const panes = new URL(url, 'http://grafana.invalid').searchParams.get('panes');
  if (panes === null) throw new Error(`no panes in ${url}`);
  return Object.values(
    JSON.parse(panes) as Record<string, { datasource: string; queries: Record<string, unknown>[] }>,
  );
}
