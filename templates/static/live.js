// The dashboard's live view: a page whose <body> names a stream (data-live-src) listens to it
// (Server-Sent Events from this server) and updates itself: counts marked data-live-count are
// rewritten, regions marked data-live-region are fetched again from this same page's address
// and swapped in. Without JavaScript the page is whole as served; a reload shows what is new.
(function () {
  "use strict";
  var body = document.body;
  var src = body.getAttribute("data-live-src");
  if (!src || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var version = body.getAttribute("data-live-version") || "";
  var status = document.getElementById("live-status");
  var lang = document.documentElement.lang || undefined;
  var source = new EventSource(src);
  var fetching = false;
  var again = false;
  // The call has ended: said once the page shows its final state, not before.
  var ending = false;

  function endedIfDone() {
    if (ending && !fetching) {
      say(status ? status.getAttribute("data-ended") || "" : "");
    }
  }

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function number(n) {
    try {
      return new Intl.NumberFormat(lang).format(n);
    } catch (e) {
      return String(n);
    }
  }

  // A selection the user is making is not swept away under them.
  function inUse() {
    return document.querySelector(
      "[data-live-region] input:checked, [data-live-region] :focus"
    ) !== null;
  }

  function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    if (inUse()) {
      say(status ? status.getAttribute("data-changed") || "" : "");
      return;
    }
    fetching = true;
    fetch(window.location.href, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var regions = document.querySelectorAll("[data-live-region]");
        for (var i = 0; i < regions.length; i++) {
          var fresh = doc.getElementById(regions[i].id);
          if (fresh) {
            regions[i].replaceWith(document.importNode(fresh, true));
          }
        }
        var fresher = doc.body.getAttribute("data-live-version");
        if (fresher) {
          version = fresher;
        }
        body.setAttribute("data-live-updated", String(Date.now()));
      })
      .catch(function () {
        say(status ? status.getAttribute("data-failed") || "" : "");
      })
      .then(function () {
        fetching = false;
        if (again) {
          again = false;
          refresh();
        } else {
          endedIfDone();
        }
      });
  }

  // The calls in progress (overview tile, /calls?status=in_progress).
  source.addEventListener("calls", function (event) {
    var data = JSON.parse(event.data);
    var counts = document.querySelectorAll("[data-live-count]");
    for (var i = 0; i < counts.length; i++) {
      counts[i].textContent = number(data.in_progress);
    }
    var signature = String(data.signature);
    if (signature !== version && document.querySelector("[data-live-region]")) {
      version = signature;
      refresh();
    }
  });

  // One call while it runs; its last event says it has ended.
  source.addEventListener("call", function (event) {
    var data = JSON.parse(event.data);
    if (data.version !== version) {
      version = data.version;
      refresh();
    }
    if (data.ended) {
      source.close();
      ending = true;
      endedIfDone();
    }
  });

  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      say(status ? status.getAttribute("data-failed") || "" : "");
    }
  });
})();
