// Building DOM without a framework: ``h("div", {class: "x"}, child, "text")``. Text always goes
// in as text nodes, so a name or note from the database can never inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** "2026-11-22T01:02:03.456Z" → "09:02:03" in the school's time zone. */
export function clock(ts, tz) {
  if (!ts) return "";
  return new Date(ts).toLocaleTimeString("en-GB", { timeZone: tz || undefined, hour12: false });
}

/** Hour label for a baseline point ("2026-11-22T01:00Z" → "09:00" local). */
export function hourLabel(hourUtc, tz) {
  const date = new Date(hourUtc.replace(/:00Z$/, ":00:00Z"));
  return date.toLocaleTimeString("en-GB", {
    timeZone: tz || undefined,
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}

/** The date (YYYY-MM-DD) in the school's time zone, of now or of ``ts``: the day staff mean. */
export function today(tz, ts) {
  const when = ts ? new Date(ts) : new Date();
  return when.toLocaleDateString("en-CA", { timeZone: tz || undefined });
}

export function celsius(value) {
  return value === null || value === undefined ? "–" : `${Number(value).toFixed(1)} ℃`;
}
