// The alarm: a WebAudio beep, so no audio file is needed. Browsers keep audio muted until the
// page has had a click or key press; the token form and the "enable sound" button are that.

let context = null;

// Counted for the operator's status line and for the browser tests (did it really sound?).
window.tempgateBeeps = 0;

export function soundReady() {
  return context !== null && context.state === "running";
}

/** Create or wake the audio context; call from a click handler. */
export async function enableSound() {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass) return false;
  context = context || new AudioContextClass();
  if (context.state !== "running") await context.resume().catch(() => undefined);
  return soundReady();
}

/** Three short tones, loud enough to hear across a gatehouse, soft-edged so they do not click. */
export function beep() {
  window.tempgateBeeps += 1;
  if (!context) return;
  const start = context.currentTime + 0.02;
  for (let i = 0; i < 3; i += 1) {
    const at = start + i * 0.28;
    const osc = context.createOscillator();
    const gain = context.createGain();
    osc.type = "sine";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
    osc.connect(gain).connect(context.destination);
    osc.start(at);
    osc.stop(at + 0.22);
  }
}
