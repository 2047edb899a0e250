// Fathom speed-test page. Runs the official ndt7 client (vendor/ndt7.js, @m-lab/ndt7 0.1.4)
// against the server that served this page, only after the visitor presses Start.
//
// For tests: when a run ends, <body data-state> becomes "done" (or "error") and
// window.fathomResult holds {download:{mbps, serverMbps, ...}, upload:{...}, server, done}.
'use strict';

(function () {
  const CLIENT_NAME = 'fathom-web';
  const CLIENT_VERSION = '0.1.0';
  const PHASE_SECONDS = 10;

  const $ = (id) => document.getElementById(id);
  const field = (name) => document.querySelector(`[data-field="${name}"]`);
  const setField = (name, text) => { const el = field(name); if (el) el.textContent = text; };

  // ---------------------------------------------------------------- formatting
  const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
  function fmtMbps(x) {
    if (!isNum(x)) return '–';
    const digits = x >= 100 ? 0 : x >= 10 ? 1 : 2;
    return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function fmtNum(x, digits) {
    return isNum(x) ? x.toFixed(digits) : '–';
  }

  // Coarse operating-system family, in the words of Go's GOOS (what other ndt7 clients send).
  function osFamily() {
    const ua = navigator.userAgent || '';
    const platform = (navigator.userAgentData && navigator.userAgentData.platform) ||
      navigator.platform || '';
    if (/android/i.test(ua)) return 'android';
    if (/iphone|ipad|ipod/i.test(ua)) return 'ios';
    if (/win/i.test(platform)) return 'windows';
    if (/mac/i.test(platform)) return 'darwin';
    if (/linux|cros/i.test(platform) || /linux|cros/i.test(ua)) return 'linux';
    return null;
  }

  // ---------------------------------------------------------------- figures from measurements
  // Server JSON (spec §2): TCPInfo/AppInfo ElapsedTime in µs, so bytes*8/µs = Mbit/s.
  const rate = (bytes, us) => (isNum(bytes) && isNum(us) && us > 0 ? (8 * bytes) / us : null);

  function serverDownloadMbps(m) {
    const t = m && m.TCPInfo;
    return t ? rate(t.BytesAcked, t.ElapsedTime) : null;
  }
  // Upload: the server's own count of application bytes when it sends AppInfo, else TCP's.
  function serverUploadMbps(m) {
    if (!m) return null;
    if (m.AppInfo) return rate(m.AppInfo.NumBytes, m.AppInfo.ElapsedTime);
    if (m.TCPInfo) return rate(m.TCPInfo.BytesReceived, m.TCPInfo.ElapsedTime);
    return null;
  }
  function steadyMbps(m) {
    const v = m && m.Fathom && m.Fathom.SteadyStateMbps;
    return isNum(v) ? v : null;
  }
  function minRttMs(m) {
    const v = m && m.TCPInfo && m.TCPInfo.MinRTT;
    return isNum(v) && v > 0 ? v / 1000 : null;
  }
  function retransPct(m) {
    const t = m && m.TCPInfo;
    if (!t || !isNum(t.BytesSent) || t.BytesSent <= 0) return null;
    return (100 * (isNum(t.BytesRetrans) ? t.BytesRetrans : 0)) / t.BytesSent;
  }
  const uuidOf = (m) => (m && m.ConnectionInfo && m.ConnectionInfo.UUID) || null;

  // ---------------------------------------------------------------- chart (hand-written canvas)
  const chart = {
    series: { download: [], upload: [] },
    pending: false,
    reset() { this.series.download = []; this.series.upload = []; this.draw(); },
    add(dir, t, mbps) {
      if (!isNum(t) || !isNum(mbps) || mbps < 0) return;
      this.series[dir].push([t, mbps]);
      this.schedule();
    },
    schedule() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.draw(); });
    },
    draw() {
      const canvas = $('chart');
      const box = canvas.getBoundingClientRect();
      if (box.width === 0) return;
      const dpr = window.devicePixelRatio || 1;
      const w = Math.round(box.width * dpr);
      const h = Math.round(box.height * dpr);
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
      const ctx = canvas.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const W = box.width;
      const H = box.height;
      const css = getComputedStyle(document.body);
      const color = (name) => css.getPropertyValue(name).trim();
      ctx.clearRect(0, 0, W, H);

      const all = this.series.download.concat(this.series.upload);
      const tMax = Math.max(PHASE_SECONDS, ...all.map((p) => p[0]));
      const yMax = niceCeil(Math.max(1, ...all.map((p) => p[1])) * 1.05);
      const pad = { l: 44, r: 10, t: 10, b: 24 };
      const x = (t) => pad.l + (t / tMax) * (W - pad.l - pad.r);
      const y = (v) => H - pad.b - (v / yMax) * (H - pad.t - pad.b);

      ctx.font = '11px system-ui, sans-serif';
      ctx.lineWidth = 1;
      ctx.strokeStyle = color('--grid');
      ctx.fillStyle = color('--muted');
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      for (let i = 0; i <= 4; i++) {
        const v = (yMax * i) / 4;
        const yy = Math.round(y(v)) + 0.5;
        ctx.beginPath(); ctx.moveTo(pad.l, yy); ctx.lineTo(W - pad.r, yy); ctx.stroke();
        ctx.fillText(shortNum(v), pad.l - 6, yy);
      }
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      for (let s = 0; s <= tMax; s += 2) {
        ctx.textAlign = x(s) + 16 > W ? 'right' : 'center';
        ctx.fillText(`${s} s`, Math.min(x(s), W - 1), H - pad.b + 6);
      }

      for (const [dir, varName] of [['download', '--dl'], ['upload', '--ul']]) {
        const pts = this.series[dir];
        if (pts.length === 0) continue;
        const c = color(varName);
        ctx.beginPath();
        ctx.moveTo(x(0), y(0));
        for (const [t, v] of pts) ctx.lineTo(x(t), y(v));
        ctx.strokeStyle = c;
        ctx.lineWidth = 2;
        ctx.lineJoin = 'round';
        ctx.stroke();
        ctx.lineTo(x(pts[pts.length - 1][0]), y(0));
        ctx.closePath();
        ctx.globalAlpha = 0.12;
        ctx.fillStyle = c;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    },
  };
  function niceCeil(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  function shortNum(v) {
    if (v >= 1000) return `${+(v / 1000).toFixed(1)}k`;
    return `${+v.toFixed(v < 10 ? 1 : 0)}`;
  }

  // ---------------------------------------------------------------- page state
  let run = null; // the current run's state, null when idle
  let tick = null;

  function setState(state) {
    document.body.dataset.state = state;
    $('intro').hidden = state !== 'idle';
    $('live').hidden = state !== 'running';
    $('results').hidden = state !== 'done';
    $('failed').hidden = state !== 'error';
    $('chart-box').hidden = state === 'idle' || (state === 'error' && !run.sawData);
  }

  function setPhase(name, label) {
    run.phase = name;
    run.phaseStart = performance.now();
    document.body.dataset.phase = name;
    $('phase').textContent = label;
    $('live-mbps').textContent = '–';
    announce(label);
  }

  function announce(text) { $('announce').textContent = text; }

  function showLive(mbps) {
    $('live-mbps').textContent = fmtMbps(mbps);
    // Tell screen readers the number now and then, not at every sample.
    const now = performance.now();
    if (now - run.lastAnnounce > 3000) {
      run.lastAnnounce = now;
      announce(`${$('phase').textContent}: ${fmtMbps(mbps)} megabits per second`);
    }
  }

  function onTick() {
    if (!run) return;
    const now = performance.now();
    $('elapsed').textContent = `${((now - run.t0) / 1000).toFixed(1)} s`;
    const inPhase = run.phase === 'download' || run.phase === 'upload';
    $('phase-progress').value = inPhase ? Math.min(PHASE_SECONDS, (now - run.phaseStart) / 1000) : 0;
  }

  function newRun() {
    return {
      t0: performance.now(),
      consentAt: new Date().toISOString(),
      phase: 'connecting', direction: 'download', phaseStart: 0, lastAnnounce: 0, sawData: false,
      errors: [],
      // last counters seen, for the chart's per-interval rates
      prev: { download: [0, 0], uploadServer: [0, 0], uploadClient: [0, 0] },
      uploadHasServer: false,
      complete: { download: null, upload: null },
    };
  }

  // One rate point per interval of at least CHART_STEP seconds (server samples can come 25 ms
  // apart, which would make a needlessly jagged line): t in seconds, n in bytes.
  const CHART_STEP = 0.4;
  function addPoint(dir, key, t, n) {
    const [t0, n0] = run.prev[key];
    if (!isNum(t) || !isNum(n) || t - t0 < CHART_STEP) return;
    chart.add(dir, t, (8 * (n - n0)) / ((t - t0) * 1e6));
    run.prev[key] = [t, n];
  }

  const callbacks = {
    error(msg) {
      // The library's message is usually just "error": say which direction failed.
      const text = `${run.direction}: ${msg}`;
      if (!run.errors.includes(text)) run.errors.push(text);
    },
    downloadStart() { setPhase('download', 'Download'); },
    downloadMeasurement(m) {
      run.sawData = true;
      if (m.Source === 'client') {
        showLive(m.Data.MeanClientMbps);
        addPoint('download', 'download', m.Data.ElapsedTime, m.Data.NumBytes);
      }
    },
    downloadComplete(c) {
      run.complete.download = c;
      setPhase('upload-connecting', 'Connecting for upload');
    },
    uploadStart() { setPhase('upload', 'Upload'); },
    uploadMeasurement(m) {
      run.sawData = true;
      const d = m.Data;
      if (m.Source === 'server') {
        const bytes = d.AppInfo ? d.AppInfo.NumBytes : d.TCPInfo && d.TCPInfo.BytesReceived;
        const us = d.AppInfo ? d.AppInfo.ElapsedTime : d.TCPInfo && d.TCPInfo.ElapsedTime;
        if (isNum(bytes) && isNum(us)) {
          run.uploadHasServer = true;
          showLive(rate(bytes, us));
          addPoint('upload', 'uploadServer', us / 1e6, bytes);
        }
      } else if (!run.uploadHasServer) {
        showLive(d.MeanClientMbps);
        addPoint('upload', 'uploadClient', d.ElapsedTime, d.NumBytes);
      }
    },
    uploadComplete(c) { run.complete.upload = c; },
  };

  // ---------------------------------------------------------------- results
  function buildResult(rc) {
    const dl = run.complete.download || {};
    const ul = run.complete.upload || {};
    const dls = dl.LastServerMeasurement;
    const uls = ul.LastServerMeasurement;
    const problems = run.errors.slice();
    if (rc !== 0) problems.push(`the test library returned code ${rc}`);
    if (!dl.LastClientMeasurement || !dls) problems.push('download: no measurements received');
    if (!ul.LastClientMeasurement || !uls) problems.push('upload: no measurements received');
    const server = location.host;
    const result = {
      download: {
        mbps: dl.LastClientMeasurement ? dl.LastClientMeasurement.MeanClientMbps : null,
        serverMbps: serverDownloadMbps(dls),
        steadyMbps: steadyMbps(dls),
        minRttMs: minRttMs(dls),
        retransPct: retransPct(dls),
        uuid: uuidOf(dls),
        lastServerMeasurement: dls || null,
      },
      upload: {
        mbps: serverUploadMbps(uls),
        clientMbps: ul.LastClientMeasurement ? ul.LastClientMeasurement.MeanClientMbps : null,
        serverMbps: serverUploadMbps(uls),
        serverSource: uls ? (uls.AppInfo ? 'AppInfo' : uls.TCPInfo ? 'TCPInfo' : null) : null,
        steadyMbps: steadyMbps(uls),
        minRttMs: minRttMs(uls),
        retransPct: retransPct(uls),
        uuid: uuidOf(uls),
        lastServerMeasurement: uls || null,
      },
      server,
      serverAddress: (dls && dls.ConnectionInfo && dls.ConnectionInfo.Server) || null,
      protocol: location.protocol === 'https:' ? 'wss' : 'ws',
      rc,
      consentAt: run.consentAt,
      finishedAt: new Date().toISOString(),
      elapsedSec: (performance.now() - run.t0) / 1000,
      errors: problems,
      done: problems.length === 0,
    };
    if (!isNum(result.upload.mbps)) result.upload.mbps = result.upload.clientMbps;
    return result;
  }

  function showResult(r) {
    setField('download-mbps', fmtMbps(r.download.mbps));
    setField('download-server-mbps', fmtMbps(r.download.serverMbps));
    setField('upload-mbps', fmtMbps(r.upload.mbps));
    setField('upload-client-mbps', fmtMbps(r.upload.clientMbps));
    for (const dir of ['download', 'upload']) {
      const show = isNum(r[dir].steadyMbps);
      document.querySelector(`[data-show="${dir}-steady"]`).hidden = !show;
      setField(`${dir}-steady-mbps`, fmtMbps(r[dir].steadyMbps));
    }
    const rtt = isNum(r.download.minRttMs) ? r.download.minRttMs : r.upload.minRttMs;
    setField('min-rtt', fmtNum(rtt, rtt !== null && rtt < 10 ? 2 : 1));
    setField('retrans', fmtNum(r.download.retransPct, 2));
    setField('server', r.serverAddress && r.serverAddress !== r.server
      ? `${r.server} (${r.serverAddress})` : r.server);
    setField('finished', new Date(r.finishedAt).toLocaleString(undefined,
      { dateStyle: 'medium', timeStyle: 'short' }));
    setField('download-uuid', r.download.uuid || '–');
    setField('upload-uuid', r.upload.uuid || '–');
    $('chart').setAttribute('aria-label', `Chart of throughput over time: download ` +
      `${fmtMbps(r.download.mbps)} Mbit/s, upload ${fmtMbps(r.upload.mbps)} Mbit/s`);
    announce(`Test finished. Download ${fmtMbps(r.download.mbps)} megabits per second, ` +
      `upload ${fmtMbps(r.upload.mbps)} megabits per second.`);
  }

  // ---------------------------------------------------------------- run
  async function start() {
    if (run && document.body.dataset.state === 'running') return;
    // The click is the visitor's consent: only now is userAcceptedDataPolicy set.
    run = newRun();
    window.fathomResult = { done: false };
    chart.reset();
    setState('running');
    setPhase('connecting', 'Connecting');
    chart.draw();
    tick = setInterval(onTick, 100);
    $('phase').focus();

    const metadata = { client_name: CLIENT_NAME, client_version: CLIENT_VERSION };
    const os = osFamily();
    if (os) metadata.client_os = os;
    const config = {
      server: location.host,
      protocol: location.protocol === 'https:' ? 'wss' : 'ws',
      userAcceptedDataPolicy: true,
      metadata,
      downloadworkerfile: new URL('vendor/ndt7-download-worker.js', location.href).href,
      uploadworkerfile: new URL('vendor/ndt7-upload-worker.js', location.href).href,
    };
    // What ndt7.test() does, one direction at a time so that errors can be attributed.
    let rc;
    try {
      const urls = window.ndt7.discoverServerURLs(config, callbacks);
      run.direction = 'download';
      const dlRc = await window.ndt7.downloadTest(config, callbacks, urls);
      run.direction = 'upload';
      const ulRc = await window.ndt7.uploadTest(config, callbacks, urls);
      rc = dlRc + ulRc;
    } catch (err) {
      run.errors.push(String(err && err.message || err));
      rc = -1;
    }
    clearInterval(tick);
    onTick();
    const r = buildResult(rc);
    window.fathomResult = r;
    if (r.done) {
      showResult(r);
      setState('done');
      chart.draw();
      $('results-title').focus();
    } else {
      $('failed-text').textContent = 'The connection to the server failed or was cut short, ' +
        'so there is no result to show. Please try again in a moment.';
      $('failed-detail').textContent = `Details: ${r.errors.join('; ')}.`;
      setState('error');
      $('failed-title').focus();
    }
  }

  function init() {
    setField('host', location.host);
    $('version').textContent = CLIENT_VERSION;
    for (const id of ['results-title', 'failed-title', 'phase']) $(id).tabIndex = -1;
    if (!window.ndt7 || typeof window.ndt7.test !== 'function') {
      const e = $('load-error');
      e.textContent = 'The test library (vendor/ndt7.js) could not be loaded, so the test ' +
        'cannot run. The server operator needs to run “make web”.';
      e.hidden = false;
      return;
    }
    $('start').disabled = false;
    $('start').addEventListener('click', start);
    $('again').addEventListener('click', start);
    $('retry').addEventListener('click', start);
    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(() => chart.schedule()).observe($('chart'));
    }
  }

  init();
}());
