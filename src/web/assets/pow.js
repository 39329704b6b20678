// Gatehouse's proof of work (bot_challenge.kind = "proof_of_work").
//
// The form carries a challenge gatehouse signed; this finds a nonce such that
// SHA-256(challenge + ":" + nonce) begins with `difficulty` zero bits and puts
// "challenge:nonce" in the form's pow_solution field. It starts as soon as
// the page loads, so the work is done while the person types; "Send code"
// pressed before then is held until it is. Served from /assets/pow.js: the
// pages' Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ].map(function (k) { return k | 0; });
  var INITIAL = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
  ];
  var W = new Int32Array(64);

  // One SHA-256 compression of the 64 bytes at `offset` into `state`.
  function compress(state, bytes, offset) {
    var i, x, y;
    for (i = 0; i < 16; i++) {
      x = offset + i * 4;
      W[i] = (bytes[x] << 24) | (bytes[x + 1] << 16) | (bytes[x + 2] << 8) | bytes[x + 3];
    }
    for (i = 16; i < 64; i++) {
      x = W[i - 15];
      y = W[i - 2];
      W[i] = (W[i - 16] + W[i - 7] +
        (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
        (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) | 0;
    }
    var a = state[0], b = state[1], c = state[2], d = state[3];
    var e = state[4], f = state[5], g = state[6], h = state[7];
    for (i = 0; i < 64; i++) {
      x = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      y = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + x) | 0;
      d = c; c = b; b = a; a = (x + y) | 0;
    }
    state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
    state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0;
    state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
  }

  // Runs `task` soon, after the browser had its turn (no 4 ms timer clamp).
  var tasks = [];
  var channel = typeof MessageChannel === "function" ? new MessageChannel() : null;
  if (channel) {
    channel.port1.onmessage = function () { tasks.shift()(); };
  }
  function later(task) {
    if (channel) {
      tasks.push(task);
      channel.port2.postMessage(0);
    } else {
      setTimeout(task, 0);
    }
  }

  // Calls done(solution, tries) once solved; works in slices of ~10 ms so
  // that the page stays responsive.
  function solve(challenge, difficulty, done) {
    var prefix = [];
    var text = challenge + ":";
    for (var i = 0; i < text.length; i++) prefix.push(text.charCodeAt(i) & 0xff);
    prefix = new Uint8Array(prefix);
    // The whole blocks of the prefix are the same for every nonce.
    var whole = prefix.length >> 6;
    var midstate = new Int32Array(INITIAL);
    for (i = 0; i < whole; i++) compress(midstate, prefix, i * 64);
    var rest = prefix.length - whole * 64;
    var block = new Uint8Array(128);
    block.set(prefix.subarray(whole * 64));
    var state = new Int32Array(8);
    var nonce = 0;

    function meets(n) {
      var digits = String(n);
      var end = rest + digits.length;
      var j;
      for (j = 0; j < digits.length; j++) block[rest + j] = digits.charCodeAt(j);
      var last = end + 9 <= 64 ? 64 : 128;
      block[end] = 0x80;
      for (j = end + 1; j < last - 4; j++) block[j] = 0;
      var bits = (prefix.length + digits.length) * 8;
      block[last - 4] = bits >>> 24;
      block[last - 3] = bits >>> 16;
      block[last - 2] = bits >>> 8;
      block[last - 1] = bits;
      state.set(midstate);
      compress(state, block, 0);
      if (last === 128) compress(state, block, 64);
      var zeros = Math.clz32(state[0]);
      if (zeros === 32) zeros += Math.clz32(state[1]);
      return zeros >= difficulty;
    }

    function work() {
      var until = Date.now() + 10;
      do {
        for (var k = 0; k < 2000; k++, nonce++) {
          if (meets(nonce)) {
            done(challenge + ":" + nonce, nonce + 1);
            return;
          }
        }
      } while (Date.now() < until);
      later(work);
    }
    later(work);
  }

  window.gatehousePow = { solve: solve };

  var input = document.querySelector("input[name=pow_solution][data-challenge]");
  if (!input) return;
  var form = input.form;
  var status = document.getElementById("pow-status");
  var held = null;
  var started = Date.now();
  solve(input.getAttribute("data-challenge"), +input.getAttribute("data-difficulty"),
    function (solution, tries) {
      input.value = solution;
      form.setAttribute("data-pow-ms", String(Date.now() - started));
      form.setAttribute("data-pow-tries", String(tries));
      if (status) status.textContent = status.getAttribute("data-done");
      if (held) {
        var button = held;
        held = null;
        if (form.requestSubmit) form.requestSubmit(button); else button.click();
      }
    });
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    var sends = button && (button.value === "send" || button.value === "resend");
    if (sends && !input.value) {
      event.preventDefault();
      held = button;
    }
  });
})();
