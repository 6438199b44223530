// The capture page of `livecert serve`: plain JavaScript, no build step, nothing from a CDN.
// One instruction at a time; every state is written to <body data-state="..."> (the tests read it).
"use strict";

const TEXT = {
  zh: {
    title: "养老金资格认证",
    speak_on: "朗读：开",
    speak_off: "朗读：关",
    start: "开始认证",
    retry: "再试一次",
    loading: "正在准备……",
    ready: "请点击“开始认证”。我们会打开摄像头。",
    ready_digits: "请点击“开始认证”。我们会打开摄像头和麦克风。",
    asking: "请允许使用摄像头。",
    asking_digits: "请允许使用摄像头和麦克风。",
    position: "请把脸放在椭圆框里，看着屏幕。",
    get_ready: "准备好了吗？马上开始。",
    blink: "请慢慢眨眨眼。",
    blink_wait: "请看着屏幕，按屏幕提示做。",
    blink_now: "现在请眨眼。",
    mouth_now: "现在请张嘴。",
    turn_now: "现在请慢慢向一侧转头。",
    digits: "请大声读出屏幕上的数字。",
    seconds_left: "还剩 {n} 秒",
    uploading: "正在上传，请稍候……",
    checking: "正在检查，请稍候……",
    upload_retry: "网络不稳定，正在重新上传（第 {n} 次）……",
    upload_failed: "上传失败。请检查网络后点击“再试一次”。",
    passed: "认证成功",
    passed_detail: "您已完成本次资格认证，可以关闭此页面。",
    failed: "这次没有通过",
    failed_detail: "请按下面的提示调整后，再试一次。",
    failed_link: "请按下面的提示调整后，向社保机构索取新的认证链接再试。",
    denied: "没有摄像头权限，无法认证。",
    denied_detail: "请点击地址栏旁边的摄像头图标，选择“允许”，然后刷新页面。也可以到社区或社保经办机构办理。",
    no_device: "没有找到摄像头或麦克风。",
    no_device_detail: "请连接摄像头（读数认证还需要麦克风）后刷新页面，或换一台手机、电脑。",
    busy_device: "摄像头正被其他程序使用。",
    busy_device_detail: "请关闭其他使用摄像头的程序（如视频通话），然后刷新页面。",
    insecure: "此页面无法使用摄像头。",
    insecure_detail: "请使用 https 地址打开认证页面，或使用最新版的浏览器。",
    no_recorder: "此浏览器不能录像。",
    no_recorder_detail: "请使用最新版的 Chrome、Edge、Firefox 或 Safari。",
    session_error: "认证无法开始。",
  },
  en: {
    title: "Pension certification",
    speak_on: "Read aloud: on",
    speak_off: "Read aloud: off",
    start: "Start",
    retry: "Try again",
    loading: "Getting ready...",
    ready: "Press Start. The camera will open.",
    ready_digits: "Press Start. The camera and microphone will open.",
    asking: "Please allow the camera.",
    asking_digits: "Please allow the camera and the microphone.",
    position: "Put your face inside the oval and look at the screen.",
    get_ready: "Get ready. Starting soon.",
    blink: "Please blink your eyes slowly.",
    blink_wait: "Look at the screen. Do what it asks.",
    blink_now: "Blink now.",
    mouth_now: "Open your mouth now.",
    turn_now: "Turn your head slowly to one side now.",
    digits: "Please read the digits aloud.",
    seconds_left: "{n} s left",
    uploading: "Uploading, please wait...",
    checking: "Checking, please wait...",
    upload_retry: "The network is unsteady; uploading again (try {n})...",
    upload_failed: "The upload failed. Check the network, then press Try again.",
    passed: "Certified",
    passed_detail: "You have completed this certification. You may close this page.",
    failed: "Not passed this time",
    failed_detail: "Please follow the advice below, then try again.",
    failed_link: "Please follow the advice below, then ask the pension office for a new link.",
    denied: "The camera is not allowed, so certification cannot start.",
    denied_detail: "Click the camera icon next to the address bar, choose Allow, then reload the page. You can also certify at a community or social-security office.",
    no_device: "No camera or microphone was found.",
    no_device_detail: "Connect a camera (and a microphone for reading digits), then reload, or use another phone or computer.",
    busy_device: "Another program is using the camera.",
    busy_device_detail: "Close other programs that use the camera (such as video calls), then reload the page.",
    insecure: "This page cannot use the camera.",
    insecure_detail: "Open the certification page with an https address, or use an up-to-date browser.",
    no_recorder: "This browser cannot record video.",
    no_recorder_detail: "Use an up-to-date Chrome, Edge, Firefox or Safari.",
    session_error: "Certification cannot start.",
  },
};

// The TEXT key shown while a blink challenge's prompt asking for each action is up.
const PROMPT_TEXT = { blink: "blink_now", open_mouth: "mouth_now", turn_head: "turn_now" };
const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const state = {
  lang: query.get("lang") === "en" ? "en" : "zh",
  speak: query.get("speak") !== "0",
  session: null,
  token: null,
  stream: null,
  blob: null,
  lastSpoken: "",
  messageKey: "loading",
  detailKey: null,
};

function t(key, fields) {
  let text = TEXT[state.lang][key] || TEXT.en[key] || key;
  for (const [k, v] of Object.entries(fields || {})) text = text.replace(`{${k}}`, String(v));
  return text;
}

function setState(name) {
  document.body.dataset.state = name;
}

function say(text) {
  if (!state.speak || !("speechSynthesis" in window) || text === state.lastSpoken) return;
  state.lastSpoken = text;
  const u = new SpeechSynthesisUtterance(text);
  u.lang = state.lang === "zh" ? "zh-CN" : "en-US";
  const voice = speechSynthesis.getVoices().find((v) => v.lang && v.lang.replace("_", "-").startsWith(u.lang.slice(0, 2)));
  if (voice) u.voice = voice;
  speechSynthesis.cancel();
  speechSynthesis.speak(u);
}

// One instruction at a time: the message, an optional detail line, spoken once.
function show(key, detailKey, fields) {
  state.messageKey = key;
  state.detailKey = detailKey || null;
  $("message").textContent = t(key, fields);
  $("detail").textContent = detailKey ? t(detailKey) : "";
  say($("message").textContent);
}

function showRaw(message, detail) {
  state.messageKey = null;
  $("message").textContent = message;
  $("detail").textContent = detail || "";
  say(message);
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("speak").textContent = t(state.speak ? "speak_on" : "speak_off");
  $("lang").textContent = state.lang === "zh" ? "English" : "中文";
  $("lang").lang = state.lang === "zh" ? "en" : "zh-CN";
  if (state.messageKey) {
    $("message").textContent = t(state.messageKey);
    $("detail").textContent = state.detailKey ? t(state.detailKey) : "";
  }
}

async function api(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const sep = path.includes("?") ? "&" : "?";
  const res = await fetch(`${path}${sep}lang=${state.lang}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error("api"), { data, status: res.status });
  return data;
}

function fail(err) {
  setState("error-session");
  const message = err && err.data && err.data.error ? err.data.error.message : String(err);
  showRaw(t("session_error"), message);
}

async function loadSession() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("session") && hash.get("token")) {
    state.session = await api("GET", `/api/sessions/${encodeURIComponent(hash.get("session"))}`, undefined, hash.get("token"));
  } else {
    const body = {};
    if (query.get("mode")) body.mode = query.get("mode");
    if (query.get("prompts")) body.prompts = Number(query.get("prompts"));
    state.session = await api("POST", "/api/sessions", body);
  }
  state.token = state.session.token;
}

function isDigits() {
  return state.session && state.session.mode === "digits";
}

// What to show when, seconds after the recording starts, and how long to record.
function plan() {
  const c = state.session.challenge;
  const steps = [];
  let end = 6.0;
  if (c.schedule && c.schedule.length) {
    for (const s of c.schedule) {
      const text = c.schedule_kind !== "blink" ? s.digits : t(PROMPT_TEXT[s.action] || "blink_now");
      steps.push({ text, show: s.show_at_s, hide: s.hide_at_s === null ? Infinity : s.hide_at_s });
    }
    const last = c.schedule[c.schedule.length - 1];
    end = last.hide_at_s === null ? Math.max(6.0, last.show_at_s + 6.0) : last.hide_at_s + 1.0;
  }
  end = Math.min(end, state.session.max_recording_s - 1);
  return { steps, end };
}

function recorderType() {
  const types = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp8", "video/webm", "video/mp4"];
  return types.find((x) => window.MediaRecorder && MediaRecorder.isTypeSupported(x)) || "";
}

async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setState("error-insecure");
    show("insecure", "insecure_detail");
    return false;
  }
  if (!window.MediaRecorder) {
    setState("error-recorder");
    show("no_recorder", "no_recorder_detail");
    return false;
  }
  setState("asking");
  show(isDigits() ? "asking_digits" : "asking");
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
      audio: isDigits(),
    });
  } catch (err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      setState("error-denied");
      show("denied", "denied_detail");
    } else if (name === "NotFoundError" || name === "OverconstrainedError") {
      setState("error-no-device");
      show("no_device", "no_device_detail");
    } else {
      setState("error-busy-device");
      show("busy_device", "busy_device_detail");
    }
    return false;
  }
  $("preview").srcObject = state.stream;
  return true;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Live guidance while the person gets into position: small frames go to the server, whose
// face tracker answers with steady words ("move closer", "one face only", ...).  Without it
// (no WebSocket, the server busy) the page waits a moment and goes on.
function guideIntoPlace() {
  return new Promise((resolve) => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const id = encodeURIComponent(state.session.session_id);
    const params = `token=${encodeURIComponent(state.token)}&lang=${state.lang}`;
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${location.host}/api/sessions/${id}/guide?${params}`);
    } catch (e) {
      setTimeout(resolve, 2500);
      return;
    }
    const canvas = document.createElement("canvas");
    const deadline = performance.now() + 20000;
    let done = false;
    let answered = false;
    let readySince = null;
    const finish = () => {
      if (done) return;
      done = true;
      try {
        ws.close();
      } catch (e) {
        /* already closed */
      }
      resolve();
    };
    const sendFrame = () => {
      if (done || ws.readyState !== WebSocket.OPEN) return;
      if (performance.now() > deadline) return finish();
      const v = $("preview");
      if (!v.videoWidth) return setTimeout(sendFrame, 200);
      canvas.width = 320;
      canvas.height = Math.round((320 * v.videoHeight) / v.videoWidth);
      canvas.getContext("2d").drawImage(v, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((b) => b && ws.readyState === WebSocket.OPEN && ws.send(b), "image/jpeg", 0.7);
    };
    ws.onopen = sendFrame;
    ws.onmessage = (e) => {
      answered = true;
      const m = JSON.parse(e.data);
      if (m.unavailable) return setTimeout(finish, 2500);
      if (m.guidance) {
        document.body.dataset.guidance = m.guidance;
        showRaw(m.message);
      }
      if (m.ready) {
        readySince = readySince === null ? performance.now() : readySince;
        if (performance.now() - readySince >= 1000) return finish();
      } else {
        readySince = null;
      }
      setTimeout(sendFrame, 250);
    };
    ws.onclose = () => setTimeout(finish, answered ? 0 : 2500);
  });
}

async function countIn() {
  setState("positioning");
  show("position");
  await guideIntoPlace();
  show("get_ready");
  for (let n = 3; n >= 1; n--) {
    $("prompt").textContent = String(n);
    await sleep(1000);
  }
  $("prompt").textContent = "";
}

function record() {
  return new Promise((resolve, reject) => {
    const { steps, end } = plan();
    const type = recorderType();
    const rec = new MediaRecorder(state.stream, type ? { mimeType: type } : undefined);
    const chunks = [];
    rec.ondataavailable = (e) => e.data && e.data.size && chunks.push(e.data);
    rec.onerror = (e) => reject(e.error || e);
    rec.onstop = () => resolve(new Blob(chunks, { type: rec.mimeType || type || "video/webm" }));
    rec.onstart = () => {
      // verify() takes the prompt to appear at the recording's first frame: start both together.
      const t0 = performance.now();
      setState("recording");
      if (isDigits()) show("digits");
      else show(steps.length ? "blink_wait" : "blink");
      let shown = null;
      const tick = () => {
        const s = (performance.now() - t0) / 1000;
        const step = steps.find((x) => s >= x.show && s < x.hide);
        const text = step ? step.text : "";
        if (text !== shown) {
          shown = text;
          $("prompt").textContent = text;
          if (text && !isDigits()) say(text);
        }
        $("countdown").textContent = t("seconds_left", { n: Math.max(0, Math.ceil(end - s)) });
        if (s >= end) {
          $("prompt").textContent = "";
          $("countdown").textContent = "";
          if (rec.state !== "inactive") rec.stop();
        } else {
          requestAnimationFrame(tick);
        }
      };
      requestAnimationFrame(tick);
      // Timers keep running in a background tab, animation frames do not.
      setTimeout(() => rec.state !== "inactive" && rec.stop(), (end + 0.5) * 1000);
    };
    rec.start(1000);
  });
}

function sendOnce(blob) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/sessions/${encodeURIComponent(state.session.session_id)}/recording?lang=${state.lang}`);
    xhr.setRequestHeader("Authorization", `Bearer ${state.token}`);
    xhr.setRequestHeader("Content-Type", blob.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) $("progress").value = Math.round((100 * e.loaded) / e.total);
    };
    xhr.upload.onload = () => {
      $("progress").value = 100;
      show("checking");
    };
    xhr.onload = () => {
      let data = {};
      try {
        data = JSON.parse(xhr.responseText);
      } catch (e) {
        data = {};
      }
      resolve({ status: xhr.status, data });
    };
    xhr.onerror = () => reject(new Error("network"));
    xhr.send(blob);
  });
}

async function upload(blob) {
  setState("uploading");
  $("progress-box").hidden = false;
  show("uploading");
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const res = await sendOnce(blob);
      if (res.status !== 503 || attempt === 3) return res; // 503: busy or a worker died; the same upload is safe to repeat
    } catch (err) {
      if (attempt === 3) throw err;
    }
    show("upload_retry", null, { n: attempt + 1 });
    await sleep(2000 * attempt);
  }
  throw new Error("unreachable");
}

function stopCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
}

function showResult(res) {
  $("progress-box").hidden = true;
  const list = $("reasons");
  list.textContent = "";
  if (res.status === 200 && typeof res.data.passed === "boolean") {
    if (res.data.passed) {
      setState("passed");
      show("passed", "passed_detail");
    } else {
      setState("failed");
      show("failed", state.session.person_bound ? "failed_link" : "failed_detail");
      for (const r of res.data.reasons || []) {
        const li = document.createElement("li");
        li.textContent = r.message;
        li.dataset.code = r.code;
        list.appendChild(li);
      }
      $("retry").hidden = state.session.person_bound;
      $("retry").onclick = startOver;
    }
    return;
  }
  // A refusal decides nothing (an unusable recording, a busy server): record again in the same session.
  setState("error-upload");
  const message = res.data && res.data.error ? res.data.error.message : `HTTP ${res.status}`;
  showRaw(t("failed"), message);
  $("retry").hidden = false;
  $("retry").onclick = () => run().catch(fail);
}

async function run() {
  $("start").hidden = true;
  $("retry").hidden = true;
  if (!(await openCamera())) return;
  await countIn();
  let blob;
  try {
    blob = await record();
  } finally {
    stopCamera();
  }
  state.blob = blob;
  try {
    showResult(await upload(blob));
  } catch (err) {
    setState("error-network");
    show("upload_failed");
    $("retry").hidden = false;
    $("retry").onclick = async () => {
      $("retry").hidden = true;
      try {
        showResult(await upload(state.blob));
      } catch (e) {
        setState("error-network");
        show("upload_failed");
        $("retry").hidden = false;
      }
    };
  }
}

async function startOver() {
  // A new session for a liveness-only check; a person's link is used once.
  location.hash = "";
  location.reload();
}

async function main() {
  $("lang").onclick = () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    applyLanguage();
  };
  $("speak").onclick = () => {
    state.speak = !state.speak;
    $("speak").setAttribute("aria-pressed", String(state.speak));
    if (!state.speak && "speechSynthesis" in window) speechSynthesis.cancel();
    applyLanguage();
  };
  $("start").onclick = () => run().catch(fail);
  $("retry").onclick = startOver;
  applyLanguage();
  try {
    await loadSession();
  } catch (err) {
    fail(err);
    return;
  }
  setState("ready");
  show(isDigits() ? "ready_digits" : "ready");
  $("start").hidden = false;
  if (query.get("autostart") === "1") run().catch(fail);
}

main();
