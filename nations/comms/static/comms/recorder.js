/* Record a voice message in the panel (comms/_recorder.html).
   Browsers record in WebM/Opus or MP4/AAC; phone lines play MP3 or WAV. So the take is decoded
   with the Web Audio API, resampled to 8 kHz mono (what a phone line carries: 16 KB a second)
   and written as a 16-bit PCM WAV, then put into the form's audio file input: it is posted and
   checked like an uploaded file. Without MediaRecorder, a microphone or permission, the status
   line says why and the upload field works as before. */
(function () {
  "use strict";
  var RATE = 8000;

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function encodeWav(samples, rate) {
    var buffer = new ArrayBuffer(44 + samples.length * 2);
    var view = new DataView(buffer);
    function ascii(offset, text) {
      for (var i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
    }
    ascii(0, "RIFF");
    view.setUint32(4, 36 + samples.length * 2, true);
    ascii(8, "WAVE");
    ascii(12, "fmt ");
    view.setUint32(16, 16, true);        // size of the fmt chunk
    view.setUint16(20, 1, true);         // PCM
    view.setUint16(22, 1, true);         // mono
    view.setUint32(24, rate, true);
    view.setUint32(28, rate * 2, true);  // bytes per second
    view.setUint16(32, 2, true);         // bytes per frame
    view.setUint16(34, 16, true);        // bits per sample
    ascii(36, "data");
    view.setUint32(40, samples.length * 2, true);
    for (var i = 0, offset = 44; i < samples.length; i++, offset += 2) {
      var s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(offset, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([buffer], { type: "audio/wav" });
  }

  function toWav(recording, AudioCtx) {
    return recording.arrayBuffer().then(function (bytes) {
      var context = new AudioCtx();
      return new Promise(function (resolve, reject) {
        context.decodeAudioData(bytes, resolve, reject);
      }).finally(function () { context.close(); });
    }).then(function (decoded) {
      var Offline = window.OfflineAudioContext || window.webkitOfflineAudioContext;
      var offline = new Offline(1, Math.max(1, Math.ceil(decoded.duration * RATE)), RATE);
      var source = offline.createBufferSource();
      source.buffer = decoded;  // down-mixed to mono and resampled by the rendering
      source.connect(offline.destination);
      source.start();
      return offline.startRendering();
    }).then(function (rendered) {
      return { blob: encodeWav(rendered.getChannelData(0), RATE), seconds: rendered.duration };
    });
  }

  function canAttachFiles() {
    try { return !!new DataTransfer().files; } catch (e) { return false; }
  }

  function setup(root) {
    var msg = root.dataset;
    var max = parseInt(msg.maxSeconds, 10) || 120;
    var input = root.querySelector("input[type=file]");
    var panel = root.querySelector("[data-recorder-panel]");
    var status = root.querySelector("[data-status]");
    var recordButton = root.querySelector("[data-record]");
    var recordLabel = root.querySelector("[data-record-label]");
    var stopButton = root.querySelector("[data-stop]");
    var discardButton = root.querySelector("[data-discard]");
    var time = root.querySelector("[data-time]");
    var elapsedText = root.querySelector("[data-elapsed]");
    var meters = root.querySelector("[data-meters]");
    var level = root.querySelector("[data-level]");
    var progress = root.querySelector("[data-progress]");
    var playback = root.querySelector("[data-playback]");
    var AudioCtx = window.AudioContext || window.webkitAudioContext;
    var state = { recorder: null, stream: null, context: null, timer: null, url: null };

    function say(text) { status.textContent = text; }

    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder &&
          AudioCtx && window.isSecureContext !== false && input && canAttachFiles())) {
      say(msg.msgUnsupported);
      return;
    }
    panel.hidden = false;

    // A take not saved yet, or a recording under way, is not lost by a stray click away: the
    // browser asks first (saving the form is not leaving).
    var saving = false;
    if (input.form) input.form.addEventListener("submit", function () { saving = true; });
    window.addEventListener("beforeunload", function (event) {
      if (saving || !(root.classList.contains("is-recording") || root.dataset.recorded)) return;
      event.preventDefault();
      event.returnValue = "";
    });

    function attach(blob) {
      var transfer = new DataTransfer();
      if (blob) {
        var stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "");
        transfer.items.add(new File([blob], "recording-" + stamp + ".wav", { type: "audio/wav" }));
      }
      input.files = transfer.files;
    }

    function clearTake() {
      if (state.url) URL.revokeObjectURL(state.url);
      state.url = null;
      playback.removeAttribute("src");
      playback.hidden = true;
      discardButton.hidden = true;
      recordLabel.textContent = recordButton.dataset.label;
    }

    function release() {
      clearInterval(state.timer);
      if (state.stream) state.stream.getTracks().forEach(function (track) { track.stop(); });
      if (state.context) state.context.close();
      state.stream = state.context = state.timer = null;
    }

    function failed(error) {
      release();
      root.classList.remove("is-recording");
      recordButton.hidden = false;
      stopButton.hidden = true;
      time.hidden = meters.hidden = true;
      var name = error && error.name;
      say(name === "NotAllowedError" || name === "SecurityError" ? msg.msgDenied
        : name === "NotFoundError" || name === "OverconstrainedError" ? msg.msgNoMic
        : msg.msgFailed);
    }

    function start() {
      clearTake();
      attach(null);
      say(msg.msgAsking);
      // Created during the click, so the browser lets it run (autoplay rules).
      state.context = new AudioCtx();
      navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true }
      }).then(function (stream) {
        state.stream = stream;
        var chunks = [];
        var recorder = new MediaRecorder(stream);
        state.recorder = recorder;
        recorder.ondataavailable = function (event) { if (event.data.size) chunks.push(event.data); };
        recorder.onerror = failed;
        recorder.onstop = function () { finish(new Blob(chunks, { type: recorder.mimeType })); };

        var analyser = state.context.createAnalyser();
        analyser.fftSize = 1024;
        state.context.createMediaStreamSource(stream).connect(analyser);
        var samples = new Float32Array(analyser.fftSize);
        var began = Date.now();
        state.timer = setInterval(function () {
          var seconds = (Date.now() - began) / 1000;
          elapsedText.textContent = clock(seconds);
          progress.style.width = Math.min(100, (seconds / max) * 100) + "%";
          analyser.getFloatTimeDomainData(samples);
          var sum = 0;
          for (var i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
          level.style.width = Math.min(100, Math.sqrt(sum / samples.length) * 300) + "%";
          if (seconds >= max) stop(true);
        }, 100);

        recorder.start(250);
        root.classList.add("is-recording");
        elapsedText.textContent = "0:00";
        progress.style.width = level.style.width = "0";
        recordButton.hidden = true;
        stopButton.hidden = false;
        time.hidden = meters.hidden = false;
        stopButton.focus();
        say(msg.msgRecording);
      }).catch(failed);
    }

    function stop(atLimit) {
      var recorder = state.recorder;
      if (!recorder || recorder.state === "inactive") return;
      state.atLimit = atLimit === true;
      recorder.stop();
      clearInterval(state.timer);
      say(msg.msgEncoding);
    }

    function finish(recording) {
      release();
      root.classList.remove("is-recording");
      stopButton.hidden = true;
      meters.hidden = true;
      toWav(recording, AudioCtx).then(function (take) {
        attach(take.blob);
        state.url = URL.createObjectURL(take.blob);
        playback.src = state.url;
        playback.hidden = false;
        recordButton.hidden = false;
        recordLabel.textContent = msg.labelAgain;
        discardButton.hidden = false;
        elapsedText.textContent = clock(Math.round(take.seconds));
        var ready = msg.msgReady.replace("{duration}", clock(Math.round(take.seconds)));
        say(state.atLimit ? msg.msgLimit.replace("{limit}", clock(max)) + " " + ready : ready);
        root.dataset.recorded = take.seconds.toFixed(2);
        playback.focus();
      }).catch(function (error) {
        recordButton.hidden = false;
        time.hidden = true;
        failed(error);
      });
    }

    recordButton.dataset.label = recordLabel.textContent;
    recordButton.addEventListener("click", start);
    stopButton.addEventListener("click", stop);
    discardButton.addEventListener("click", function () {
      attach(null);
      clearTake();
      time.hidden = true;
      delete root.dataset.recorded;
      say(msg.msgRemoved);
      recordButton.focus();
    });
    input.addEventListener("change", function () {
      // A file picked by hand replaces the take (the browser put it in the same input).
      if (!state.url || !input.files.length) return;
      clearTake();
      time.hidden = true;
      delete root.dataset.recorded;
      say(msg.msgFile);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-recorder]").forEach(setup);
  });
})();
