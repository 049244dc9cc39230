// pint configuration for prometheus/rules/ (https://cloudflare.github.io/pint/).
// Offline: `pint --offline --config .pint.hcl lint prometheus/rules/` (scripts/ensure-pint.sh
// installs the pinned pint). Online checks (promql/series, promql/rate) run from the pipeline
// test through runPintOnline() in grafana/src/pint.ts, which adds a `prometheus` block pointing at
// the test's Prometheus.

parser {
  include = ["prometheus/rules/.*[.]ya?ml"]
}

rule {
  match {
    kind = "alerting"
  }

  // Every alert says how bad it is, with one of the values the notification policy routes on.
  label "severity" {
    severity = "bug"
    value    = "(warning|critical)"
    required = true
  }

  // Every alert links to its own section of the runbook.
  annotation "runbook_url" {
    severity = "bug"
    value    = "docs/operational/soft-delete-runbook[.]md#alert-[a-z0-9-]+"
    required = true
  }

  annotation "summary" {
    severity = "bug"
    required = true
  }

  annotation "description" {
    severity = "bug"
    required = true
  }

  annotation "dashboard_url" {
    severity = "warning"
    value    = "https?://.+/d/soft-delete-ops/.+viewPanel=[0-9]+"
    required = true
  }
}
