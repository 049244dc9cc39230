import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (this file lives in test/pipeline/support). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const COLLECTOR_CONFIG = `${REPO_ROOT}otel-collector/config.yaml`;
export const COLLECTOR_OVERLAY = `${REPO_ROOT}test/pipeline/collector-overlay.yaml`;
/** The two-tier layout: agents (standalone) and gateways (layered on config.yaml). */
export const AGENT_CONFIG = `${REPO_ROOT}otel-collector/agent.yaml`;
export const GATEWAY_CONFIG = `${REPO_ROOT}otel-collector/gateway.yaml`;
export const GATEWAY_OVERLAY = `${REPO_ROOT}test/pipeline/gateway-overlay.yaml`;
export const PROMETHEUS_CONFIG = `${REPO_ROOT}prometheus/prometheus.yml`;
