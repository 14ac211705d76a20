// Two small inline SVG charts per gate: today's temperature distribution and the hourly
// baseline. Plain SVG, so they print, scale and need nothing from outside.

const SVG_NS = "http://www.w3.org/2000/svg";
export const THRESHOLD_C = 37.3;

function svg(width, height, label) {
  const el = document.createElementNS(SVG_NS, "svg");
  el.setAttribute("viewBox", `0 0 ${width} ${height}`);
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", label);
  el.classList.add("chart");
  return el;
}

function add(parent, name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  parent.appendChild(el);
  return el;
}

/**
 * Bars for ``counts`` over ``edges_c`` (0.1 ℃ bins, 35–40 ℃). Bins at or above the
 * threshold are drawn in the alarm colour, so a cluster of fevers stands out at a glance.
 */
export function histogram({ edges_c, counts }, label) {
  const width = 320;
  const height = 120;
  const pad = { left: 6, right: 6, top: 8, bottom: 20 };
  const chart = svg(width, height, label);
  const lo = edges_c[0];
  const hi = edges_c[edges_c.length - 1];
  const x = (c) => pad.left + ((c - lo) / (hi - lo)) * (width - pad.left - pad.right);
  const peak = Math.max(1, ...counts);
  const plotH = height - pad.top - pad.bottom;
  counts.forEach((n, i) => {
    if (n === 0) return;
    const h = Math.max(1, (n / peak) * plotH);
    const rect = add(chart, "rect", {
      x: x(edges_c[i]) + 0.5,
      y: pad.top + plotH - h,
      width: Math.max(1, x(edges_c[i + 1]) - x(edges_c[i]) - 1),
      height: h,
      class: edges_c[i] + 0.05 >= THRESHOLD_C ? "bar bar-fever" : "bar",
    });
    add(rect, "title", {}, `${edges_c[i].toFixed(1)} ℃: ${n}`);
  });
  add(chart, "line", {
    x1: pad.left,
    x2: width - pad.right,
    y1: pad.top + plotH,
    y2: pad.top + plotH,
    class: "axis",
  });
  add(chart, "line", {
    x1: x(THRESHOLD_C),
    x2: x(THRESHOLD_C),
    y1: pad.top - 4,
    y2: pad.top + plotH,
    class: "threshold",
  });
  for (const c of [35, 36, 37, 38, 39, 40]) {
    add(chart, "text", { x: x(c), y: height - 5, class: "tick" }, String(c));
  }
  return chart;
}

/**
 * The hourly median of passing readings: a device drifting toward "normal" or reading low in
 * cold weather shows as this line sliding away from ≈36.5 ℃.
 */
export function baseline(points, formatHour, label) {
  const width = 320;
  const height = 120;
  const pad = { left: 34, right: 8, top: 10, bottom: 20 };
  const chart = svg(width, height, label);
  if (points.length === 0) return chart;
  const values = points.map((p) => p.median_c);
  const lo = Math.min(35.5, ...values) - 0.1;
  const hi = Math.max(37.5, ...values) + 0.1;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (i) => pad.left + (points.length === 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (c) => pad.top + (1 - (c - lo) / (hi - lo)) * plotH;
  for (const c of [36, 37]) {
    add(chart, "line", { x1: pad.left, x2: width - pad.right, y1: y(c), y2: y(c), class: "grid" });
    add(chart, "text", { x: pad.left - 4, y: y(c) + 4, class: "tick tick-y" }, `${c}`);
  }
  add(chart, "line", {
    x1: pad.left,
    x2: width - pad.right,
    y1: y(THRESHOLD_C),
    y2: y(THRESHOLD_C),
    class: "threshold",
  });
  add(chart, "polyline", {
    points: points.map((p, i) => `${x(i)},${y(p.median_c)}`).join(" "),
    class: "baseline-line",
  });
  points.forEach((p, i) => {
    const dot = add(chart, "circle", { cx: x(i), cy: y(p.median_c), r: 3, class: "baseline-dot" });
    add(dot, "title", {}, `${formatHour(p.hour_utc)}: ${p.median_c.toFixed(2)} ℃ (n=${p.n})`);
  });
  const step = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((p, i) => {
    if (i % step === 0) {
      add(chart, "text", { x: x(i), y: height - 5, class: "tick" }, formatHour(p.hour_utc));
    }
  });
  return chart;
}
