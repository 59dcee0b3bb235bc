// Copy buttons: <button data-copy="ID" data-copy-status="ID2" hidden> copies
// the value of the field ID and says so in ID2 (its data-copied text). The
// buttons stay hidden without JavaScript; the field can still be selected
// and copied by hand.
(function () {
  'use strict';
  function copied(status) {
    if (status) { status.textContent = status.getAttribute('data-copied') || ''; }
  }
  document.addEventListener('DOMContentLoaded', function () {
    var buttons = document.querySelectorAll('button[data-copy]');
    Array.prototype.forEach.call(buttons, function (btn) {
      var field = document.getElementById(btn.getAttribute('data-copy'));
      var status = document.getElementById(btn.getAttribute('data-copy-status'));
      if (!field) { return; }
      btn.hidden = false;
      btn.addEventListener('click', function () {
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(function () { copied(status); }, function () { field.select(); });
          return;
        }
        field.select();
        try {
          if (document.execCommand('copy')) { copied(status); }
        } catch (e) { /* the text stays selected for copying by hand */ }
      });
    });
  });
}());
