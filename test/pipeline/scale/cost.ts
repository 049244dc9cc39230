import type { Run } from './run.ts';
import type { Tiers } from './tiers.ts';

/**
 * What the collectors cost, measured on the steady burst: CPU from /proc (user + system time) over
 * the whole burst window, from before the first span until the last kept trace reached a sink (tail
 * sampling decides 10 s after a trace arrives, so the window includes every decision), minus the
 * idle cost of the same collectors over the same number of seconds. CPU time per span does not
 * depend on how busy the shared machine is, which is why it, not wall time, is the measure.
 * Every span passes one agent and one gateway, so each tier's total is per span of the workload.
 */

const GATEWAY_DECISION_WAIT_S = 10;

export function reportCost(run: Run, tiers: Tiers): string[] {
  const nAgents = tiers.agents.length;
  const idleRate = run.idle.cpu.map((cpu) => cpu / run.idle.seconds);
  const busy = run.steadyCost.cpu.map((cpu, i) => cpu - (idleRate[i] ?? 0) * run.steadyCost.seconds);
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  const perThousand = (cpu: number) => (1000 * cpu) / run.steadySpans;
  const tiersCpu = { agents: sum(busy.slice(0, nAgents)), gateways: sum(busy.slice(nAgents)) };
  const rate = run.steadySpans / run.steadyEmitSeconds;
  const lines = [
    `steady burst: ${run.steadySpans} spans in ${run.steady.length} traces, ` +
      `emitted at ${rate.toFixed(0)} spans/s; all phases: ${run.traces.reduce((n, t) => n + t.spans.length, 0)} spans ` +
      `in ${run.traces.length} traces`,
    `idle CPU per collector: ${idleRate.map((r) => `${(100 * r).toFixed(1)} %`).join(', ')} of a core (agents, then gateways)`,
  ];
  for (const [tier, cpu] of Object.entries(tiersCpu)) {
    lines.push(
      `${tier}: ${cpu.toFixed(2)} CPU-s for the burst = ${perThousand(cpu).toFixed(3)} CPU-s per 1,000 spans, ` +
        `i.e. ${(100 * perThousand(cpu)).toFixed(1)} % of a core per 1,000 spans/s`,
    );
  }
  const mem = tiers.agents.concat(tiers.gateways).map((c, i) => {
    const start = run.usageAtStart[i]?.rssMiB ?? 0;
    const peak = run.usageAfterSteady[i]?.peakRssMiB ?? 0;
    return `${c.name} ${start.toFixed(0)} -> ${peak.toFixed(0)} MiB`;
  });
  lines.push(`RSS idle -> peak during the burst: ${mem.join(', ')}`);
  const gatewayGrowth = run.usageAfterSteady
    .slice(nAgents)
    .map((u, i) => u.peakRssMiB - (run.usageAtStart[nAgents + i]?.rssMiB ?? 0));
  const perSpanHeld = sum(gatewayGrowth) / run.steadySpans;
  lines.push(
    `gateways held all ${run.steadySpans} burst spans for the ${GATEWAY_DECISION_WAIT_S} s decision wait: ` +
      `${(1024 * perSpanHeld).toFixed(2)} KiB of RSS per span held, so about ` +
      `${(perSpanHeld * 1000 * GATEWAY_DECISION_WAIT_S).toFixed(0)} MiB per 1,000 spans/s sustained (on top of the idle RSS)`,
  );
  return lines;
}
