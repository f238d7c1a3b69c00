// vakt: follows a push notification on the sign-in page and loads the
// page again once it was answered (or the app connected), so the person
// never has to reload. It long-polls the page's status address, which
// only reports; the page itself acts on the answer. Without JavaScript a
// <noscript> refresh does the same job.
(function () {
  "use strict";
  var el = document.getElementById("push-status");
  if (!el || !el.dataset.statusUrl || !window.fetch) {
    return;
  }
  var url = el.dataset.statusUrl, next = el.dataset.next, waiting = el.dataset.waiting;
  var failures = 0;
  function go() {
    window.location.replace(next);
  }
  function poll(delay) {
    window.setTimeout(function () {
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "wait=25", { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (r) {
          if (!r.ok) {
            go(); // the page knows best what happened
            return null;
          }
          return r.json();
        })
        .then(function (j) {
          if (!j) {
            return;
          }
          failures = 0;
          if (j.status !== waiting) {
            go();
          } else if (j.status === "waitingForDevice") {
            poll(2000); // the server cannot wait for a device that has not enrolled yet
          } else {
            poll(0);
          }
        })
        .catch(function () {
          failures++;
          poll(Math.min(30000, 1000 * failures * failures));
        });
    }, delay);
  }
  poll(0);
})();
