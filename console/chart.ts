import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { Delivery } from "./api.ts";

const HOUR_MS = 3_600_000;
const OUTCOMES = [
  { label: "delivered", statuses: ["delivered"], stroke: "#1b7f3b" },
  { label: "failed", statuses: ["failed", "dead_lettered"], stroke: "#b3261e" },
  { label: "in progress", statuses: ["pending", "retrying"], stroke: "#8a5a00" },
] as const;

/** Deliveries per hour over the last 24 hours, one series per outcome. */
export function hourlyOutcomes(deliveries: readonly Delivery[], now: number): number[][] {
  const end = Math.floor(now / HOUR_MS) * HOUR_MS;
  const hours = Array.from({ length: 24 }, (_, index) => end - (23 - index) * HOUR_MS);
  const series = OUTCOMES.map(() => hours.map(() => 0));
  for (const delivery of deliveries) {
    const slot = hours.indexOf(Math.floor(Date.parse(delivery.created_at) / HOUR_MS) * HOUR_MS);
    const outcome = OUTCOMES.findIndex((o) => (o.statuses as readonly string[]).includes(delivery.status));
    const row = series[outcome];
    if (slot >= 0 && row !== undefined) row[slot] = (row[slot] ?? 0) + 1;
  }
  return [hours.map((hour) => hour / 1000), ...series];
}

export function DeliveryChart({ deliveries }: { deliveries: readonly Delivery[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const data = hourlyOutcomes(deliveries, Date.now());
    const widthFor = () => Math.max(240, Math.min(element.clientWidth, 900));
    const plot = new uPlot(
      {
        width: widthFor(),
        height: 220,
        series: [{}, ...OUTCOMES.map((o) => ({ label: o.label, stroke: o.stroke, width: 2 }))],
        axes: [{}, { label: "deliveries" }],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      },
      data as uPlot.AlignedData,
      element,
    );
    // Follows its box, so that a turned phone or a narrowed window never scrolls the page sideways.
    const resized = new ResizeObserver(() => plot.setSize({ width: widthFor(), height: 220 }));
    resized.observe(element);
    return () => {
      resized.disconnect();
      plot.destroy();
    };
  }, [deliveries]);
  const total = deliveries.length;
  return html`<figure class="chart">
    <div ref=${box} role="img" aria-label=${`Deliveries per hour over the last 24 hours by outcome: ${total} in all`}></div>
    <figcaption>Deliveries per hour, last 24 hours, by outcome (${total} deliveries).</figcaption>
  </figure>`;
}
