// The live view: alerts to handle (with sound), gates and their kiosks, today's counts, and the
// temperature distribution and baseline per gate.

import { api, LiveFeed } from "./api.js";
import { baseline, histogram } from "./charts.js";
import { celsius, clock, h, hourLabel, today } from "./dom.js";
import { t } from "./i18n.js";
import { beep } from "./sound.js";

const FEVER_TYPES = new Set(["fever_suspect", "fever_confirmed"]);
const STATUS_RANK = { open: 0, acknowledged: 1, resolved: 2 };
const FEVER_DISPOSITIONS = [
  "cleared_on_retest",
  "isolated",
  "sent_home",
  "referred_to_clinic",
  "device_fault",
];
const DEVICE_DISPOSITIONS = ["device_fault", "cleared_on_retest"];
// Re-test outcomes only appear once a kiosk has recorded one; the first three always show.
const COUNT_KEYS = ["pass", "remeasure", "fever_suspect"];
const RETEST_KEYS = ["confirmed", "cleared"];
// Passing entries are not on the live feed (only alerts are): counts catch up by polling.
const REFRESH_MS = 10000;
const RESOLVED_SHOWN = 20;

/** Does this alert call for the alarm? A new fever does; a replayed old record pages nobody. */
function pages(alert) {
  return FEVER_TYPES.has(alert.alert_type) && !alert.historical && alert.status === "open";
}

export class LiveView {
  constructor({ site, tz, onFeedState }) {
    this.site = site;
    this.tz = tz;
    this.onFeedState = onFeedState;
    this.alerts = new Map();
    this.cards = new Map();
    // Re-test results per alert (复测), from the alert's audit trail: "cleared 36.8 ℃".
    this.retests = new Map();
    this.gates = [];
    this.stats = null;
    this.feed = null;
    this.timer = null;
    this.statsPending = null;
    this.seenLive = false;
    this.loaded = false;
  }

  mount(root) {
    this.root = root;
    root.replaceChildren(
      h(
        "div",
        { class: "live-grid" },
        h(
          "section",
          { class: "panel panel-alerts", "aria-labelledby": "alerts-title" },
          h("h2", { id: "alerts-title", "data-i18n": "alerts.title" }, t("alerts.title")),
          h("div", { id: "alerts-active", class: "alert-list", "aria-live": "assertive" }),
          h("h3", { "data-i18n": "alerts.resolved" }, t("alerts.resolved")),
          h("ol", { id: "alerts-resolved", class: "resolved-list" }),
        ),
        h(
          "div",
          { class: "side" },
          h(
            "section",
            { class: "panel" },
            h("h2", { "data-i18n": "counts.title" }, t("counts.title")),
            h("div", { id: "counts", class: "counts" }),
          ),
          h(
            "section",
            { class: "panel" },
            h("h2", { "data-i18n": "gates.title" }, t("gates.title")),
            h("div", { id: "gates", class: "gates" }),
          ),
        ),
        h(
          "section",
          { class: "panel panel-stats" },
          h("h2", { "data-i18n": "stats.title" }, t("stats.title")),
          h("div", { id: "stats", class: "stats" }),
        ),
      ),
    );
    // Open the feed before the first load: whatever happens in between arrives on the feed,
    // and merging by status rank makes the order of arrival irrelevant.
    this.feed = new LiveFeed({
      site: this.site,
      onEvent: (type, data) => this.onEvent(type, data),
      onState: (state) => this.onState(state),
    });
    this.feed.open();
    this.reload();
    this.timer = setInterval(() => this.refreshSide(), REFRESH_MS);
  }

  unmount() {
    document.title = t("title");
    this.feed?.close();
    this.onFeedState("idle");
    clearInterval(this.timer);
    clearTimeout(this.statsPending);
  }

  onState(state) {
    this.onFeedState(state);
    // After a reconnect, reload too: the feed resumes from its last id, and the reload covers
    // a drop before the first event had given us an id.
    if (state === "live") {
      if (this.seenLive) this.reload();
      this.seenLive = true;
    }
  }

  async reload() {
    try {
      const [open, acknowledged, resolved] = await Promise.all(
        ["open", "acknowledged", "resolved"].map((status) =>
          api("/alerts", {
            params: { site: this.site, status, limit: status === "resolved" ? 50 : 500 },
          }),
        ),
      );
      // A fever that came in while the feed was down arrives here, not as an event: it must
      // sound all the same. The first load only shows what was already waiting.
      const fresh = open.filter((row) => !this.alerts.has(row.event_id));
      for (const row of [...open, ...acknowledged, ...resolved]) this.merge(row);
      this.renderAlerts();
      if (this.loaded && fresh.some(pages)) beep();
      this.loaded = true;
      await Promise.all([...open, ...acknowledged].map((row) => this.loadRetests(row.event_id)));
    } catch (err) {
      this.showError(err);
    }
    this.refreshSide();
  }

  refreshSide() {
    this.loadGates();
    this.loadStats();
  }

  /** Keep the furthest-along version of an alert: events may arrive out of order with a reload. */
  merge(row) {
    const known = this.alerts.get(row.event_id);
    if (known && STATUS_RANK[known.status] > STATUS_RANK[row.status]) return false;
    this.alerts.set(row.event_id, row);
    return true;
  }

  onEvent(type, data) {
    if (type === "kiosk.status") {
      this.loadGates();
      return;
    }
    const isNew = !this.alerts.has(data.event_id);
    this.merge(data);
    this.renderAlerts();
    if (type === "alert.retest") this.loadRetests(data.event_id);
    // An offline kiosk shows, silently: it is urgent, but not a person at the gate.
    if (type === "alert.raised" && isNew && pages(data)) beep();
    this.loadGates();
    this.scheduleStats();
  }

  async loadRetests(alertId) {
    try {
      const detail = await api(`/alerts/${encodeURIComponent(alertId)}`);
      const retests = detail.events
        .filter((e) => e.action.startsWith("retest_"))
        .map((e) => ({ result: e.action.slice("retest_".length), reading: e.note, ts: e.ts }));
      if (retests.length === 0) return;
      this.retests.set(alertId, retests);
      this.renderAlerts();
    } catch (err) {
      this.showError(err);
    }
  }

  /** Reload the counts soon after news, at most once per burst of events. */
  scheduleStats() {
    if (this.statsPending) return;
    this.statsPending = setTimeout(() => {
      this.statsPending = null;
      this.loadStats();
    }, 300);
  }

  renderAlerts() {
    const rows = [...this.alerts.values()];
    const active = rows
      .filter((a) => a.status !== "resolved")
      .sort(
        (a, b) =>
          STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
          Number(FEVER_TYPES.has(b.alert_type)) - Number(FEVER_TYPES.has(a.alert_type)) ||
          b.ts.localeCompare(a.ts),
      );
    const list = this.root.querySelector("#alerts-active");
    const keep = new Set(active.map((a) => a.event_id));
    for (const [id, card] of this.cards) {
      if (!keep.has(id)) {
        card.remove();
        this.cards.delete(id);
      }
    }
    for (const alert of active) {
      let card = this.cards.get(alert.event_id);
      // Replace a card only when its alert changed, so a half-filled form survives other news.
      const version = `${alert.status}|${(this.retests.get(alert.event_id) || []).length}`;
      if (!card || card.dataset.version !== version) {
        const fresh = this.alertCard(alert);
        fresh.dataset.version = version;
        card?.replaceWith(fresh);
        card = fresh;
        this.cards.set(alert.event_id, card);
      }
      list.appendChild(card);
    }
    // The tab's title counts open alerts, so a console behind other windows still tells.
    const waiting = active.filter((a) => a.status === "open").length;
    document.title = waiting > 0 ? `(${waiting}) ${t("title")}` : t("title");
    if (active.length === 0) {
      list.replaceChildren(h("p", { class: "all-clear" }, t("alerts.none")));
    } else {
      list.querySelector(".all-clear")?.remove();
    }
    const day = today(this.tz);
    const resolved = rows
      .filter((a) => a.status === "resolved" && a.resolved_at && today(this.tz, a.resolved_at) === day)
      .sort((a, b) => (b.resolved_at || "").localeCompare(a.resolved_at || ""))
      .slice(0, RESOLVED_SHOWN);
    this.root
      .querySelector("#alerts-resolved")
      .replaceChildren(
        ...(resolved.length
          ? resolved.map((a) => this.resolvedItem(a))
          : [h("li", { class: "muted" }, t("alerts.no_resolved"))]),
      );
  }

  alertCard(alert) {
    const fever = FEVER_TYPES.has(alert.alert_type);
    const error = h("p", { class: "alert-error", role: "alert" });
    const form = this.resolveForm(alert, error);
    const actions = h(
      "div",
      { class: "alert-actions" },
      alert.status === "open" &&
        h(
          "button",
          {
            type: "button",
            class: "btn btn-primary",
            "data-action": "acknowledge",
            onclick: () => this.act(alert, "acknowledge", { note: "" }, error),
          },
          t("action.acknowledge"),
        ),
      h(
        "button",
        {
          type: "button",
          class: "btn",
          "data-action": "resolve",
          onclick: () => {
            form.hidden = false;
            form.querySelector("select").focus();
          },
        },
        t("action.resolve"),
      ),
    );
    const trail = [];
    if (alert.acknowledged_by) {
      trail.push(
        t("alert.acknowledged_by", {
          who: alert.acknowledged_by,
          time: clock(alert.acknowledged_at, this.tz),
        }),
      );
    }
    return h(
      "article",
      {
        class: `alert-card type-${alert.alert_type} status-${alert.status}${
          alert.historical ? " historical" : ""
        }`,
        dataset: { alertId: alert.event_id, status: alert.status, type: alert.alert_type },
      },
      h(
        "header",
        { class: "alert-head" },
        h("span", { class: "alert-kind" }, t(`alert.${alert.alert_type}`)),
        h("span", { class: `status-badge status-${alert.status}` }, t(`status.${alert.status}`)),
        alert.historical && h("span", { class: "historical-badge" }, t("alert.historical")),
      ),
      h(
        "div",
        { class: "alert-body" },
        fever && h("div", { class: "alert-temp" }, celsius(alert.temperature_c)),
        h(
          "dl",
          { class: "alert-facts" },
          h("dt", {}, t("alert.gate")),
          h("dd", {}, alert.gate_id),
          alert.person_id && [h("dt", {}, t("alert.person")), h("dd", {}, alert.person_id)],
          !fever && [h("dt", {}, t("alert.kiosk")), h("dd", {}, alert.kiosk_id)],
          h("dt", {}, t("alert.time")),
          h("dd", {}, clock(alert.ts, this.tz)),
        ),
      ),
      // The kiosk's and collector's messages are English text for logs; the card already says
      // the same in the reader's language, except for a device's own fault description.
      alert.alert_type === "device_fault" &&
        alert.message &&
        h("p", { class: "alert-message" }, alert.message),
      this.retestList(alert),
      trail.length > 0 && h("p", { class: "alert-trail" }, trail.join(" · ")),
      actions,
      form,
      error,
    );
  }

  retestList(alert) {
    const retests = this.retests.get(alert.event_id) || [];
    if (retests.length === 0) return null;
    return h(
      "ul",
      { class: "retests" },
      retests.map((r) =>
        h(
          "li",
          { class: `retest retest-${r.result}`, dataset: { result: r.result } },
          h("span", { class: "retest-label" }, t(`retest.${r.result}`)),
          h("span", { class: "retest-reading" }, r.reading),
          h("span", { class: "muted" }, clock(r.ts, this.tz)),
        ),
      ),
    );
  }

  resolveForm(alert, error) {
    const choices = FEVER_TYPES.has(alert.alert_type) ? FEVER_DISPOSITIONS : DEVICE_DISPOSITIONS;
    const select = h(
      "select",
      { name: "disposition", required: true },
      choices.map((d) => h("option", { value: d }, t(`disposition.${d}`))),
    );
    const note = h("textarea", { name: "note", rows: 2, maxlength: 1000 });
    const form = h(
      "form",
      {
        class: "resolve-form",
        hidden: true,
        onsubmit: (event) => {
          event.preventDefault();
          this.act(alert, "resolve", { disposition: select.value, note: note.value }, error);
        },
      },
      h("label", {}, h("span", {}, t("resolve.disposition")), select),
      h("label", {}, h("span", {}, t("resolve.note")), note),
      h(
        "div",
        { class: "form-buttons" },
        h("button", { type: "submit", class: "btn btn-primary" }, t("action.save")),
        h(
          "button",
          { type: "button", class: "btn", onclick: () => (form.hidden = true) },
          t("action.cancel"),
        ),
      ),
    );
    return form;
  }

  async act(alert, action, body, error) {
    error.textContent = "";
    try {
      const row = await api(`/alerts/${encodeURIComponent(alert.event_id)}/${action}`, {
        method: "POST",
        body,
      });
      this.merge(row);
      this.renderAlerts();
    } catch (err) {
      error.textContent = t("error", { message: err.message });
    }
  }

  resolvedItem(alert) {
    return h(
      "li",
      { class: "resolved-item", dataset: { alertId: alert.event_id, status: alert.status } },
      h("span", { class: "resolved-time" }, clock(alert.ts, this.tz)),
      h("span", { class: "resolved-kind" }, t(`alert.${alert.alert_type}`)),
      FEVER_TYPES.has(alert.alert_type) && h("span", {}, celsius(alert.temperature_c)),
      h("span", {}, alert.person_id || alert.kiosk_id),
      h(
        "span",
        { class: "resolved-outcome" },
        alert.disposition ? t(`disposition.${alert.disposition}`) : "",
      ),
      h(
        "span",
        { class: "muted" },
        t("alert.resolved_by", { who: alert.resolved_by, time: clock(alert.resolved_at, this.tz) }),
      ),
    );
  }

  async loadGates() {
    try {
      this.gates = await api("/gates", { params: { site: this.site } });
      this.renderGates();
    } catch (err) {
      this.showError(err);
    }
  }

  renderGates() {
    const box = this.root.querySelector("#gates");
    if (this.gates.length === 0) {
      box.replaceChildren(h("p", { class: "muted" }, t("gates.none")));
      return;
    }
    box.replaceChildren(
      ...this.gates.map((gate) =>
        h(
          "div",
          { class: `gate ${gate.online ? "gate-online" : "gate-down"}`, dataset: { gate: gate.gate_id } },
          h("div", { class: "gate-name" }, `${t("alert.gate")} ${gate.gate_id}`),
          h(
            "ul",
            { class: "kiosks" },
            gate.kiosks.map((k) =>
              h(
                "li",
                { class: `kiosk kiosk-${k.state}`, dataset: { kiosk: k.kiosk_id, state: k.state } },
                h("span", { class: "dot", "aria-hidden": "true" }),
                h("span", { class: "kiosk-id" }, k.kiosk_id),
                h("span", { class: "kiosk-state" }, t(`kiosk.${k.state}`)),
                h("span", { class: "muted" }, t("kiosk.last_seen", { time: clock(k.last_seen, this.tz) })),
                k.missing_seq > 0 && h("span", { class: "warn" }, t("kiosk.missing", { n: k.missing_seq })),
                k.open_alerts > 0 && h("span", { class: "warn" }, t("kiosk.open_alerts", { n: k.open_alerts })),
              ),
            ),
          ),
        ),
      ),
    );
  }

  async loadStats() {
    if (!this.site) {
      this.stats = null;
      this.renderStats();
      return;
    }
    try {
      this.stats = await api(`/sites/${encodeURIComponent(this.site)}/stats`);
      this.renderStats();
    } catch (err) {
      this.showError(err);
    }
  }

  renderStats() {
    const counts = this.root.querySelector("#counts");
    const stats = this.root.querySelector("#stats");
    if (!this.stats) {
      counts.replaceChildren(h("p", { class: "muted" }, t("report.pick_site")));
      stats.replaceChildren();
      return;
    }
    const total = { entries: 0 };
    for (const gate of this.stats.gates) {
      total.entries += gate.entries;
      for (const [decision, n] of Object.entries(gate.by_decision)) {
        total[decision] = (total[decision] || 0) + n;
      }
    }
    counts.replaceChildren(
      h(
        "div",
        { class: "count count-total", dataset: { count: "entries" } },
        h("span", { class: "count-n" }, total.entries),
        h("span", { class: "count-label" }, t("counts.entries")),
      ),
      ...[...COUNT_KEYS, ...RETEST_KEYS.filter((key) => key in total)].map((key) =>
        h(
          "div",
          { class: `count count-${key}`, dataset: { count: key } },
          h("span", { class: "count-n" }, total[key] || 0),
          h("span", { class: "count-label" }, t(`counts.${key}`)),
        ),
      ),
    );
    if (this.stats.gates.length === 0) {
      stats.replaceChildren(h("p", { class: "muted" }, t("stats.none")));
      return;
    }
    stats.replaceChildren(
      ...this.stats.gates.map((gate) =>
        h(
          "figure",
          { class: "gate-stats", dataset: { gate: gate.gate_id } },
          h(
            "figcaption",
            {},
            h("strong", {}, `${t("alert.gate")} ${gate.gate_id}`),
            " ",
            h("span", { class: "muted" }, t("stats.n", { n: gate.entries })),
          ),
          h("div", { class: "chart-label" }, t("stats.histogram")),
          histogram(gate.histogram, t("stats.histogram")),
          h("div", { class: "chart-label" }, t("stats.baseline")),
          baseline(gate.baseline, (hour) => hourLabel(hour, this.tz), t("stats.baseline")),
        ),
      ),
    );
  }

  showError(err) {
    const box = document.getElementById("banner");
    if (box) box.textContent = t("error", { message: err.message });
  }
}
