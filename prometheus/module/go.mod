module github.com/soft-delete-ops/prometheus-build

go 1.26

require github.com/prometheus/prometheus v0.313.0
