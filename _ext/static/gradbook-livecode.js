/*
 * "Live Code" that says what it needs. sphinx-thebe loads Thebe's script from a CDN and
 * then asks mybinder.org for a kernel; offline, or when either cannot be reached, its
 * button reads "Loading thebe from CDN..." for ever. This script watches both steps and,
 * when one fails or takes too long, says so on the page in words, with the other ways to
 * run the chapter: its notebook from the download menu, Colab, or a local copy.
 * Loaded on every page by the book's Sphinx extension (_ext/gradbook_sphinx.py).
 */
(function () {
  "use strict";
  // Thebe's script is small: on a working connection it arrives within seconds.
  const SCRIPT_LIMIT_MS = 30000;
  // Binder builds or starts a container first; a few minutes is normal for a cold start.
  const KERNEL_LIMIT_MS = 300000;
  let reported = false;

  function link(selector, text) {
    const a = document.querySelector(selector);
    return a ? `<a href="${a.getAttribute("href")}">${text}</a>` : text;
  }

  function report(what) {
    if (reported) return;
    reported = true;
    const box = document.createElement("div");
    box.className = "admonition warning gradbook-livecode-offline";
    box.setAttribute("role", "alert");
    box.innerHTML =
      `<p class="admonition-title">Live Code is not available</p>` +
      `<p>${what} Live Code runs this page's cells on a kernel from mybinder.org, ` +
      `which needs an internet connection.</p>` +
      `<p>To run this chapter instead: ` +
      `${link('a[href$=".ipynb"][href*="_sources"]', "download its notebook")} ` +
      `(download menu, .ipynb) and open it in Jupyter; ` +
      `${link('a[href*="colab.research.google.com"]', "open it in Colab")}; ` +
      `or clone the book's repository and run <code>make book</code> ` +
      `(its README says how).</p>`;
    const button = document.querySelector(".thebe-launch-button");
    if (button) button.innerText = "Live Code is not available: see the note above";
    const article = document.querySelector("article.bd-article") || document.body;
    article.insertBefore(box, article.firstChild);
    box.scrollIntoView({ block: "nearest" });
  }

  function watchKernel() {
    const timer = setTimeout(
      () => report("mybinder.org did not start a kernel within 5 minutes."),
      KERNEL_LIMIT_MS
    );
    window.thebelab.on("status", (evt, data) => {
      if (data.status === "ready") clearTimeout(timer);
      if (data.status === "failed" || data.status === "dead") {
        clearTimeout(timer);
        report(`mybinder.org could not start a kernel (${data.status}).`);
      }
    });
  }

  function watch() {
    if (typeof window.thebelab !== "undefined") {
      watchKernel();
      return;
    }
    const timer = setTimeout(
      () => report("Thebe, the library behind Live Code, did not load within 30 seconds."),
      SCRIPT_LIMIT_MS
    );
    // A script that cannot be fetched fires "error" on its element (not bubbling).
    document.addEventListener("error", (event) => {
      const el = event.target;
      if (el && el.tagName === "SCRIPT" && typeof THEBE_JS_URL !== "undefined" &&
          el.src === THEBE_JS_URL) {
        clearTimeout(timer);
        report("Thebe, the library behind Live Code, could not be loaded.");
      }
    }, true);
    document.addEventListener("load", (event) => {
      const el = event.target;
      if (el && el.tagName === "SCRIPT" && typeof THEBE_JS_URL !== "undefined" &&
          el.src === THEBE_JS_URL) {
        clearTimeout(timer);
        if (typeof window.thebelab !== "undefined") watchKernel();
      }
    }, true);
  }

  // Wrap sphinx-thebe's entry point, which sphinx-book-theme's button calls, once both
  // scripts have loaded (sphinx-thebe's is loaded async).
  function wrap() {
    if (typeof window.initThebe !== "function") return false;
    if (window.initThebe.gradbookWatched) return true;
    const original = window.initThebe;
    window.initThebe = function () {
      watch();
      return original.apply(this, arguments);
    };
    window.initThebe.gradbookWatched = true;
    return true;
  }
  window.addEventListener("load", () => {
    if (!wrap()) {
      const poll = setInterval(() => { if (wrap()) clearInterval(poll); }, 200);
    }
  });
})();
