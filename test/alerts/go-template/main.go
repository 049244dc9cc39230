// Expands Grafana-managed alert annotations the way Grafana's ngalert state/template does: Go
// text/template, with $labels, $values and $value defined first, and the template functions our
// annotations use (values stubbed). Reads {"annotation": "template", ...} per rule as JSON on stdin;
// prints {"annotation": "expanded"} or {"error": "..."} per rule. Used by grafana-templates.test.ts.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
)

type value struct {
	Labels map[string]string
	Value  float64
}

func main() {
	var rules []map[string]string
	if err := json.NewDecoder(os.Stdin).Decode(&rules); err != nil {
		panic(err)
	}
	funcs := template.FuncMap{
		"externalURL":        func() string { return os.Args[1] },
		"humanizePercentage": func(v float64) string { return fmt.Sprintf("%g%%", v*100) },
		"humanizeDuration":   func(v float64) string { return fmt.Sprintf("%gs", v) },
	}
	labels := map[string]string{
		"job_type": "noop", "migration": "backfill-deleted-at", "job": "sdops-api",
		"exporter": "otlp_http/tempo", "data_type": "traces",
	}
	data := map[string]any{"Labels": labels, "Values": map[string]value{"A": {labels, 0.25}}, "Value": "0.25"}
	out := []map[string]string{}
	for _, rule := range rules {
		expanded := map[string]string{}
		for name, text := range rule {
			tmpl := "{{- $labels := .Labels -}}{{- $values := .Values -}}{{- $value := .Value -}}" + text
			t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(tmpl)
			var b strings.Builder
			if err == nil {
				err = t.Execute(&b, data)
			}
			if err != nil {
				expanded = map[string]string{"error": name + ": " + err.Error()}
				break
			}
			expanded[name] = b.String()
		}
		out = append(out, expanded)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
