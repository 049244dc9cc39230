/**
 * The slice of Grafana's dashboard JSON that the linter and the query lister read. Typed loosely
 * on purpose: they must also work on hand-edited or imported JSON, not only on SDK output.
 */

export interface DatasourceRefJson {
  readonly type?: string;
  readonly uid?: string;
}

export interface TargetJson {
  readonly refId?: string;
  readonly datasource?: DatasourceRefJson;
  /** PromQL or LogQL. */
  readonly expr?: string;
  /** TraceQL. */
  readonly query?: string;
  readonly instant?: boolean;
}

export interface PanelJson {
  readonly id?: number;
  readonly type: string;
  readonly title?: string;
  readonly description?: string;
  readonly datasource?: DatasourceRefJson;
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
  readonly targets?: readonly TargetJson[];
  readonly panels?: readonly PanelJson[];
}

export interface DashboardJson {
  readonly uid?: string;
  readonly title?: string;
  readonly panels?: readonly PanelJson[];
  readonly templating?: { readonly list?: readonly { readonly name: string; readonly type: string }[] };
}

/** Every non-row panel, including those nested in collapsed rows. */
export function allPanels(dashboard: DashboardJson): PanelJson[] {
  const out: PanelJson[] = [];
  for (const panel of dashboard.panels ?? []) {
    if (panel.type === 'row') out.push(...(panel.panels ?? []));
    else out.push(panel);
  }
  return out;
}

export type QueryLanguage = 'promql' | 'logql' | 'traceql';

/** Which language a target speaks, from its (or its panel's) data-source type. */
export function targetLanguage(panel: PanelJson, target: TargetJson): QueryLanguage | undefined {
  const type = target.datasource?.type ?? panel.datasource?.type;
  if (type === 'prometheus') return 'promql';
  if (type === 'loki') return 'logql';
  if (type === 'tempo') return 'traceql';
  return undefined;
}

export function targetText(target: TargetJson): string | undefined {
  return target.expr ?? target.query;
}
