// The daily report of one school (view, export, submit) and the district view of who reported.

import { api, authorizedUrl } from "./api.js";
import { celsius, clock, h } from "./dom.js";
import { t } from "./i18n.js";

function table(className, headers, rows) {
  if (rows.length === 0) return h("p", { class: "muted" }, t("report.none"));
  return h(
    "table",
    { class: `data ${className}` },
    h("thead", {}, h("tr", {}, headers.map((key) => h("th", {}, t(key))))),
    h("tbody", {}, rows),
  );
}

/** The server writes a re-test as "cleared 36.8 ℃": the outcome word is for the dictionary. */
function retestText(text) {
  const [result, ...reading] = text.split(" ");
  return [t(`retest.${result}`), ...reading].join(" ");
}

export class ReportView {
  constructor({ site, day, tz }) {
    this.site = site;
    this.day = day;
    this.tz = tz;
    this.report = null;
    this.error = "";
  }

  mount(root) {
    this.root = root;
    this.load();
  }

  unmount() {}

  async load() {
    if (!this.site) {
      this.root.replaceChildren(h("p", { class: "panel muted" }, t("report.pick_site")));
      return;
    }
    try {
      this.report = await api(
        `/sites/${encodeURIComponent(this.site)}/reports/${encodeURIComponent(this.day)}`,
      );
      this.error = "";
    } catch (err) {
      this.report = null;
      this.error = t("error", { message: err.message });
    }
    this.render();
  }

  async submit() {
    try {
      this.report = await api(
        `/sites/${encodeURIComponent(this.site)}/reports/${encodeURIComponent(this.day)}/submit`,
        { method: "POST" },
      );
      this.error = "";
    } catch (err) {
      this.error = t("error", { message: err.message });
    }
    this.render();
  }

  /** Why a roster member was not screened, and what was done (因病缺课缺勤登记, 病因追踪). */
  absenceForm(person) {
    const reason = h("input", {
      name: "reason",
      required: true,
      maxlength: 500,
      value: person.reason || "",
      placeholder: t("absence.reason_hint"),
    });
    const followUp = h("input", {
      name: "follow_up",
      maxlength: 1000,
      value: person.follow_up || "",
      placeholder: t("absence.follow_up_hint"),
    });
    const error = h("span", { class: "alert-error", role: "alert" });
    const form = h(
      "form",
      {
        class: "absence-form",
        hidden: true,
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            await api(
              `/sites/${encodeURIComponent(this.site)}/absences/${encodeURIComponent(this.day)}/${encodeURIComponent(person.person_id)}`,
              { method: "PUT", body: { reason: reason.value, follow_up: followUp.value } },
            );
            await this.load();
          } catch (err) {
            error.textContent = t("error", { message: err.message });
          }
        },
      },
      reason,
      followUp,
      h("button", { type: "submit", class: "btn btn-small" }, t("action.save")),
      error,
    );
    const open = h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "data-action": "absence",
        onclick: () => {
          open.hidden = true;
          form.hidden = false;
          reason.focus();
        },
      },
      person.reason ? t("absence.edit") : t("absence.add"),
    );
    return [open, form];
  }

  render() {
    const r = this.report;
    const error = h("p", { class: "alert-error", role: "alert", id: "report-error" }, this.error);
    if (!r) {
      this.root.replaceChildren(h("section", { class: "panel" }, error));
      return;
    }
    const base = `/sites/${encodeURIComponent(r.site_id)}/reports/${encodeURIComponent(r.day)}`;
    const submission = r.submission
      ? h(
          "p",
          { class: "submission submitted", id: "submission" },
          t("report.submitted", {
            who: r.submission.submitted_by,
            time: `${r.day} ${clock(r.submission.submitted_at, r.tz)}`,
          }),
          r.submission.late && h("span", { class: "warn" }, ` · ${t("report.late")}`),
        )
      : h("p", { class: "submission pending", id: "submission" }, t("report.not_submitted"));
    this.root.replaceChildren(
      h(
        "section",
        { class: "panel report", id: "report", dataset: { site: r.site_id, day: r.day } },
        h("h2", {}, t("report.title", { site: r.site_name, day: r.day })),
        h(
          "div",
          { class: "report-head" },
          h(
            "p",
            {
              class: r.zero_report ? "verdict verdict-zero" : "verdict verdict-abnormal",
              id: "verdict",
            },
            r.zero_report
              ? t("report.zero")
              : t("report.abnormal_count", { n: r.abnormal.length }),
          ),
          h("p", { class: "muted" }, t("report.deadline", { time: r.deadline_local })),
          submission,
        ),
        h(
          "div",
          { class: "counts" },
          h(
            "div",
            { class: "count" },
            h("span", { class: "count-n" }, r.entries),
            h("span", { class: "count-label" }, t("report.entries")),
          ),
          h(
            "div",
            { class: "count" },
            h("span", { class: "count-n" }, r.people_screened),
            h("span", { class: "count-label" }, t("report.people")),
          ),
        ),
        h(
          "div",
          { class: "report-actions" },
          h("span", { class: "muted" }, `${t("report.export")}:`),
          ["csv", "xlsx", "html"].map((fmt) =>
            h(
              "a",
              { class: "btn", href: authorizedUrl(`${base}/export.${fmt}`), download: "", dataset: { export: fmt } },
              fmt.toUpperCase(),
            ),
          ),
          h(
            "button",
            { type: "button", class: "btn btn-primary", id: "submit-report", onclick: () => this.submit() },
            r.zero_report ? t("report.submit_zero") : t("report.submit"),
          ),
        ),
        error,
        h("h3", {}, t("report.by_round")),
        table(
          "by-round",
          ["report.round", "report.kind", "report.people_col", "report.entries_col"],
          r.by_round.map((row) =>
            h(
              "tr",
              {},
              h("td", {}, t(`round.${row.round}`)),
              h("td", {}, t(`kind.${row.kind}`)),
              h("td", { class: "num" }, row.people),
              h("td", { class: "num" }, row.entries),
            ),
          ),
        ),
        h("h3", {}, t("report.abnormal")),
        table(
          "abnormal",
          [
            "alert.time",
            "alert.gate",
            "alert.person",
            "report.temp",
            "report.status",
            "report.outcome",
            "report.handled_by",
            "report.note",
            "report.retests",
          ],
          r.abnormal.map((a) =>
            h(
              "tr",
              { dataset: { alertId: a.alert_id } },
              h("td", {}, clock(a.ts, r.tz)),
              h("td", {}, a.gate_id),
              h("td", {}, [a.person_id, a.name].filter(Boolean).join(" ")),
              h("td", { class: "num" }, celsius(a.temperature_c)),
              h("td", {}, t(`status.${a.status}`)),
              h("td", { class: "outcome" }, a.disposition ? t(`disposition.${a.disposition}`) : "–"),
              h("td", {}, a.handled_by || ""),
              h("td", {}, a.note || ""),
              h("td", {}, a.retests.map(retestText).join("; ")),
            ),
          ),
        ),
        h("h3", {}, t("report.not_screened")),
        table(
          "not-screened",
          ["alert.person", "report.kind", "report.reason", "report.follow_up", "absence.record"],
          r.not_screened.map((p) =>
            h(
              "tr",
              { dataset: { person: p.person_id } },
              h("td", {}, `${p.person_id} ${p.name} ${p.class_name}`.trim()),
              h("td", {}, t(`kind.${p.kind}`)),
              h("td", { class: "reason" }, p.reason || "–"),
              h("td", { class: "follow-up" }, p.follow_up || ""),
              h("td", {}, this.absenceForm(p)),
            ),
          ),
        ),
        h("h3", {}, t("report.device_problems")),
        table(
          "device-problems",
          ["alert.time", "alert.gate", "alert.kiosk", "report.status", "report.note"],
          r.device_problems.map((d) =>
            h(
              "tr",
              {},
              h("td", {}, clock(d.ts, r.tz)),
              h("td", {}, d.gate_id),
              h("td", {}, d.kiosk_id),
              h("td", {}, `${t(`alert.${d.alert_type}`)} · ${t(`status.${d.status}`)}`),
              h("td", {}, d.message),
            ),
          ),
        ),
      ),
    );
  }
}

export class DistrictView {
  constructor({ day, tzOf }) {
    this.day = day;
    this.tzOf = tzOf;
  }

  mount(root) {
    this.root = root;
    this.load();
  }

  unmount() {}

  async load() {
    let view;
    try {
      view = await api("/reports/district", { params: { day: this.day } });
    } catch (err) {
      this.root.replaceChildren(
        h("p", { class: "panel alert-error", role: "alert" }, t("error", { message: err.message })),
      );
      return;
    }
    this.root.replaceChildren(
      h(
        "section",
        { class: "panel district", id: "district" },
        h("h2", {}, t("district.title", { day: view.day })),
        h(
          "div",
          { class: "counts" },
          h("div", { class: "count count-pass" }, h("span", { class: "count-n" }, view.reported), h("span", { class: "count-label" }, t("district.reported"))),
          h("div", { class: "count count-fever_suspect" }, h("span", { class: "count-n" }, view.not_reported), h("span", { class: "count-label" }, t("district.not_reported"))),
        ),
        table(
          "district-sites",
          ["district.school", "district.district", "district.state", "district.time", "district.abnormal", "district.open"],
          view.sites.map((s) =>
            h(
              "tr",
              { class: s.submitted ? "reported" : "missing", dataset: { site: s.site_id, submitted: String(s.submitted) } },
              h("td", {}, s.name),
              h("td", {}, s.district),
              h(
                "td",
                {},
                s.submitted
                  ? [s.zero_report ? t("report.zero") : t("report.submitted_ok"), s.late ? ` · ${t("report.late")}` : ""].join("")
                  : t("report.not_submitted"),
              ),
              h("td", {}, s.submitted_at ? clock(s.submitted_at, this.tzOf(s.site_id)) : "–"),
              h("td", { class: "num" }, s.abnormal ?? "–"),
              h("td", {}, h("a", { href: `#/report/${encodeURIComponent(s.site_id)}/${view.day}` }, t("district.open"))),
            ),
          ),
        ),
      ),
    );
  }
}
