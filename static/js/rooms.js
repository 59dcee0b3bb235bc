// jitsi-gate room pages: the copy-link and generate-password buttons.
// Both are hidden without JavaScript; the link stays selectable and the
// password field stays a plain text field.
(function () {
  'use strict';
  // Letters and digits that cannot be mistaken for each other when read
  // aloud or typed from a projector (no 0/O, 1/l/I).
  var ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  var LENGTH = 12;

  function generate() {
    var out = '';
    var buf = new Uint32Array(LENGTH);
    window.crypto.getRandomValues(buf);
    for (var i = 0; i < LENGTH; i++) {
      // 2^32 is not a multiple of the alphabet's length; the bias of the
      // modulo is below 1e-8 and harmless for a room password.
      out += ALPHABET.charAt(buf[i] % ALPHABET.length);
    }
    return out;
  }

  function copy(input, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute('data-copied') || label;
      window.setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      return;
    }
    input.select();
    try { if (document.execCommand('copy')) { done(); } } catch (e) { /* the link stays selected */ }
  }

  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('button[data-copy]'), function (b) {
      var input = document.getElementById(b.getAttribute('data-copy'));
      if (!input) { return; }
      b.hidden = false;
      b.addEventListener('click', function () { copy(input, b); });
    });
    var gen = document.getElementById('generate-password');
    if (gen && window.crypto && window.crypto.getRandomValues) {
      var field = document.getElementById(gen.getAttribute('data-target'));
      if (field) {
        gen.hidden = false;
        gen.addEventListener('click', function () { field.value = generate(); field.focus(); });
      }
    }
  });
}());
