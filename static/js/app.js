// jitsi-gate pages: small progressive enhancements. Everything works without
// JavaScript; this only remembers the last rooms in this browser.
(function () {
  'use strict';
  var KEY = 'jitsi-gate.recent-rooms';
  var MAX = 5;

  function load() {
    try {
      var v = JSON.parse(window.localStorage.getItem(KEY) || '[]');
      return Array.isArray(v) ? v.filter(function (x) { return typeof x === 'string' && x.length <= 200; }) : [];
    } catch (e) { return []; }
  }

  function remember(room) {
    room = (room || '').trim();
    if (!room) { return; }
    var rooms = load().filter(function (r) { return r.toLowerCase() !== room.toLowerCase(); });
    rooms.unshift(room);
    try { window.localStorage.setItem(KEY, JSON.stringify(rooms.slice(0, MAX))); } catch (e) { /* storage off */ }
  }

  document.addEventListener('DOMContentLoaded', function () {
    var form = document.getElementById('room-form');
    if (form) {
      form.addEventListener('submit', function () {
        remember(document.getElementById('room').value);
      });
    }
    var marked = document.querySelector('[data-remember]');
    if (marked) { remember(marked.textContent); }

    var section = document.getElementById('recent');
    var list = document.getElementById('recent-list');
    if (!section || !list) { return; }
    var rooms = load();
    if (rooms.length === 0) { return; }
    var join = section.getAttribute('data-join');
    rooms.forEach(function (r) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = join + '?room=' + encodeURIComponent(r);
      a.textContent = r;
      li.appendChild(a);
      list.appendChild(li);
    });
    section.hidden = false;
  });
}());
