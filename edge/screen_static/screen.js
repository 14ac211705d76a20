// The kiosk screen. Results and status arrive as server-sent events (/events), so a decision is
// on screen as soon as it is made; only the thermal image is re-fetched, a few times a second.

// Every word on the screen, one dictionary per language.
const STRINGS = {
  "zh-CN": {
    idle: "请看向摄像头",
    idleHint: "请刷卡或出示二维码",
    pass: "通过",
    remeasure: "请复测",
    fever_suspect: "体温异常",
    confirmed: "复测确认发热",
    cleared: "复测正常",
    refused: "禁止入内",
    passHint: "请进",
    remeasureHint: "请站稳，正对摄像头",
    fever_suspectHint: "请到临时观察点复测",
    confirmedHint: "请在观察点等候校医",
    clearedHint: "请进",
    refusedHint: "请联系门卫登记",
    link: "网络",
    online: "在线",
    offline: "离线",
    connecting: "连接中",
    noDevices: "无设备信息",
    noFrame: "暂无热像",
    legend: "绿框 面部 · 蓝框 黑体 · 20–40 °C",
    screenLost: "本机服务未连接",
    switchLanguage: "English",
  },
  en: {
    idle: "Please look at the camera",
    idleHint: "Tap your card or show your QR code",
    pass: "PASS",
    remeasure: "RE-MEASURE",
    fever_suspect: "FEVER",
    confirmed: "FEVER CONFIRMED",
    cleared: "CLEARED",
    refused: "NOT ADMITTED",
    passHint: "Please go in",
    remeasureHint: "Stand still and face the camera",
    fever_suspectHint: "Please go to the observation point for a re-check",
    confirmedHint: "Please wait at the observation point for the school doctor",
    clearedHint: "Please go in",
    refusedHint: "Please register with the guard",
    link: "Network",
    online: "online",
    offline: "offline",
    connecting: "connecting",
    noDevices: "No device information",
    noFrame: "No thermal image",
    legend: "green: face · blue: blackbody · 20–40 °C",
    screenLost: "Screen service not connected",
    switchLanguage: "中文",
  },
};

const FEVER_OUTCOMES = new Set(["fever_suspect", "confirmed"]);
const FRAME_REFRESH_MS = 250; // a few frames a second is enough to aim a face; more costs CPU
const FRAME_RETRY_MS = 1000; // no camera: ask less often

const view = {
  language: "zh-CN",
  languageChosen: false, // once someone taps the switch, a reconnect does not undo it
  kioskName: "",
  result: null,
  status: { devices: {}, link: "connecting" },
  idleTimer: 0,
};

const $ = (id) => document.getElementById(id);
function t(key) {
  const text = STRINGS[view.language][key];
  if (text === undefined) console.error(`screen.js: no ${view.language} text for "${key}"`);
  return text ?? key;
}

function render() {
  document.documentElement.lang = view.language;
  $("lang").textContent = t("switchLanguage");
  $("kiosk-name").textContent = view.kioskName;
  $("screen-lost").textContent = t("screenLost");
  $("no-frame").textContent = t("noFrame");
  $("legend").textContent = t("legend");
  renderResult();
  renderStatus();
}

function renderResult() {
  const result = view.result;
  const outcome = result ? result.outcome : "idle";
  document.body.dataset.outcome = outcome;
  $("label").textContent = t(outcome);
  // "°C", not "℃": the degree sign is in every font, U+2103 is missing from some CJK ones.
  $("temperature").textContent =
    result && result.temperature_c !== null ? `${result.temperature_c.toFixed(1)} °C` : "";
  $("person").textContent = result ? (result.person_name ?? result.person_id ?? "") : "";
  $("hint").textContent = t(`${outcome}Hint`);
  $("message").textContent = result ? result.message : "";
}

function renderStatus() {
  const { devices, link } = view.status;
  document.body.dataset.link = link;
  const linkItem = $("link");
  linkItem.className = link;
  linkItem.textContent = `${t("link")} ${t(link)}`;
  const list = $("status");
  for (const old of list.querySelectorAll("li.device")) old.remove();
  const ids = Object.keys(devices);
  if (ids.length === 0) {
    list.append(statusItem("device unknown", t("noDevices")));
  }
  for (const id of ids) {
    const state = devices[id] ? "online" : "offline";
    const item = statusItem(`device ${state}`, `${id} ${t(state)}`);
    item.dataset.device = id;
    list.append(item);
  }
}

function statusItem(className, text) {
  const item = document.createElement("li");
  item.className = className;
  item.textContent = text;
  return item;
}

function showResult(result) {
  clearTimeout(view.idleTimer);
  view.result = result;
  if (result) {
    // The server says how much longer this result stays; then the idle prompt comes back.
    view.idleTimer = setTimeout(() => {
      view.result = null;
      renderResult();
    }, result.hold_ms);
  }
  renderResult();
}

// A tone on fever, synthesised: no audio files to ship. Browsers start audio only after a
// gesture unless the kiosk's Chromium runs with --autoplay-policy=no-user-gesture-required.
let audio = null;
function playFeverTone() {
  document.body.dataset.tones = String(Number(document.body.dataset.tones) + 1);
  audio ??= new AudioContext();
  if (audio.state === "suspended") audio.resume();
  document.body.dataset.audio = audio.state; // "running" means the tone is really heard
  const start = audio.currentTime + 0.05;
  for (let i = 0; i < 3; i += 1) {
    const at = start + i * 0.4;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = i % 2 === 0 ? 880 : 660;
    // Ramp in and out: a hard edge clicks.
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.4, at + 0.02);
    gain.gain.linearRampToValueAtTime(0, at + 0.3);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(at);
    oscillator.stop(at + 0.32);
  }
}

function listen() {
  const events = new EventSource("/events");
  events.addEventListener("error", () => {
    $("screen-lost").hidden = false;
    document.body.dataset.connected = "false";
  });
  // Every (re)connection starts with a snapshot; a tone is only for a result made while watching.
  events.addEventListener("state", (event) => {
    $("screen-lost").hidden = true;
    document.body.dataset.connected = "true";
    const state = JSON.parse(event.data);
    view.kioskName = state.kiosk_name;
    view.status = state.status;
    if (!view.languageChosen) view.language = state.language;
    showResult(state.result);
    render();
  });
  events.addEventListener("result", (event) => {
    const result = JSON.parse(event.data);
    showResult(result);
    if (FEVER_OUTCOMES.has(result.outcome)) playFeverTone();
  });
  events.addEventListener("status", (event) => {
    view.status = JSON.parse(event.data);
    renderStatus();
  });
}

// The next image is asked for only when the last one has arrived, so a slow link never piles up
// requests. A 404 (no frame, or the camera stopped) shows the placeholder instead.
function refreshFrame() {
  const image = $("frame");
  let count = 0;
  const next = (delayMs) => setTimeout(() => (image.src = `/frame.png?n=${(count += 1)}`), delayMs);
  image.addEventListener("load", () => {
    image.hidden = false;
    $("no-frame").hidden = true;
    next(FRAME_REFRESH_MS);
  });
  image.addEventListener("error", () => {
    image.hidden = true;
    $("no-frame").hidden = false;
    next(FRAME_RETRY_MS);
  });
  next(0);
}

function tickClock() {
  const now = new Date();
  $("clock").textContent = now.toLocaleTimeString(view.language, {
    hour: "2-digit",
    minute: "2-digit",
  });
}

$("lang").addEventListener("click", () => {
  view.language = view.language === "zh-CN" ? "en" : "zh-CN";
  view.languageChosen = true;
  render();
  tickClock();
});

render();
tickClock();
setInterval(tickClock, 10_000);
listen();
refreshFrame();
