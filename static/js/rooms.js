// jitsi-gate pages: the copy buttons (room links, the calendar address)
// and the generate-password button. They are hidden without JavaScript;
// the text stays selectable and the password field a plain text field.
// <button data-copy="ID"> copies the value of the field ID and says so with
// its data-copied text for two seconds, or, with data-copy-status="ID2", in
// the live region ID2 (its data-copied text).
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
    var status = document.getElementById(button.getAttribute('data-copy-status'));
    var done = function () {
      if (status) {
        status.textContent = status.getAttribute('data-copied') || '';
        return;
      }
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
