/* Every page's session helper: state-changing requests made with fetch() carry the session's CSRF token
   (the X-CSRF-Token header the access guard checks); GET and HEAD go as they are. */
(function () {
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)hotline_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  const plainFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    const options = Object.assign({}, init || {});
    const method = (options.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") {
      const headers = new Headers(options.headers || {});
      if (!headers.has("X-CSRF-Token")) headers.set("X-CSRF-Token", csrfToken());
      options.headers = headers;
    }
    return plainFetch(input, options);
  };
})();
