// The console's frame: token, school, language, sound, and which view is open (#/ live,
// #/report/SITE/DAY, #/district/DAY).

import { api, ApiError, setToken, token } from "./api.js";
import { today } from "./dom.js";
import { lang, setLang, t, translate } from "./i18n.js";
import { LiveView } from "./live.js";
import { DistrictView, ReportView } from "./report.js";
import { enableSound, soundReady } from "./sound.js";

const SITE_KEY = "tempgate.site";
const $ = (selector) => document.querySelector(selector);

const state = {
  sites: [],
  site: localStorage.getItem(SITE_KEY) || "",
  view: null,
  feed: "idle",
};

function siteTz(siteId) {
  return state.sites.find((s) => s.site_id === siteId)?.tz;
}

function parseRoute() {
  const [, name = "", ...rest] = location.hash.replace(/^#/, "").split("/");
  return { name, args: rest.map(decodeURIComponent) };
}

function mountView() {
  state.view?.unmount();
  const root = $("#view");
  const { name, args } = parseRoute();
  let site = state.site;
  if (name === "report" && args[0]) site = args[0];
  const tz = siteTz(site);
  const day = (name === "report" ? args[1] : args[0]) || today(tz);
  $("#day").value = day;
  $("#day-control").hidden = name !== "report" && name !== "district";
  for (const link of document.querySelectorAll(".nav a")) link.removeAttribute("aria-current");
  $(`#nav-${name || "live"}`)?.setAttribute("aria-current", "page");
  $("#nav-report").href = `#/report/${encodeURIComponent(state.site)}/${today(siteTz(state.site))}`;
  $("#nav-district").href = `#/district/${today(siteTz(state.site))}`;
  if (name === "report") {
    state.view = new ReportView({ site, day, tz });
  } else if (name === "district") {
    state.view = new DistrictView({ day, tzOf: siteTz });
  } else {
    state.view = new LiveView({ site: state.site, tz, onFeedState: showFeedState });
  }
  state.view.mount(root);
}

function showFeedState(next) {
  state.feed = next;
  const el = $("#feed-state");
  el.dataset.state = next;
  el.textContent = next === "idle" ? "" : t(`live.${next}`);
}

function showSound() {
  const button = $("#sound");
  const ready = soundReady();
  button.textContent = ready ? t("sound.on") : t("sound.enable");
  button.classList.toggle("btn-warn", !ready);
  button.dataset.ready = String(ready);
}

function renderChrome() {
  document.documentElement.lang = lang();
  translate(document);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === lang()));
  }
  const select = $("#site");
  select.replaceChildren(
    new Option(t("site.all"), ""),
    ...state.sites.map((s) => new Option(s.name || s.site_id, s.site_id)),
  );
  select.value = state.site;
  showFeedState(state.feed);
  showSound();
}

async function loadSites() {
  state.sites = await api("/sites");
  if (state.site && !state.sites.some((s) => s.site_id === state.site)) state.site = "";
  if (!state.site && state.sites.length > 0) state.site = state.sites[0].site_id;
  $("#banner").textContent = state.sites.length === 0 ? t("site.none") : "";
}

function showLogin(message) {
  state.view?.unmount();
  state.view = null;
  $("#view").replaceChildren();
  document.body.classList.add("signed-out");
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
  $("#token").focus();
}

async function start() {
  try {
    await loadSites();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      setToken("");
      showLogin(t("login.bad", { message: err.message }));
      return;
    }
    $("#banner").textContent = t("error", { message: err.message });
  }
  $("#login").hidden = true;
  document.body.classList.remove("signed-out");
  renderChrome();
  mountView();
}

function wire() {
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken($("#token").value.trim());
    $("#token").value = "";
    // This submit is a user gesture: the one moment a browser lets us switch sound on.
    enableSound().then(showSound);
    start();
  });
  $("#logout").addEventListener("click", () => {
    setToken("");
    showLogin("");
  });
  $("#sound").addEventListener("click", () => enableSound().then(showSound));
  // Any first click also unlocks sound: a guard who clicks anything must not miss the alarm.
  document.addEventListener("click", () => enableSound().then(showSound), { once: true });
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => {
      setLang(button.dataset.lang);
      renderChrome();
      mountView();
    });
  }
  $("#site").addEventListener("change", (event) => {
    state.site = event.target.value;
    localStorage.setItem(SITE_KEY, state.site);
    const { name } = parseRoute();
    if (name === "report") location.hash = `#/report/${encodeURIComponent(state.site)}/${$("#day").value}`;
    else mountView();
  });
  $("#day").addEventListener("change", (event) => {
    const { name, args } = parseRoute();
    const day = event.target.value;
    if (name === "report") location.hash = `#/report/${encodeURIComponent(args[0] || state.site)}/${day}`;
    else if (name === "district") location.hash = `#/district/${day}`;
  });
  window.addEventListener("hashchange", () => {
    if (token()) mountView();
  });
}

setLang(lang());
translate(document);
wire();
if (token()) start();
else showLogin("");
