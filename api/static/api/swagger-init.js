// Starts Swagger UI on /api/v1/docs/. A static file, not an inline script, so the
// page works under the site's Content-Security-Policy (script-src 'self').
"use strict";

(function () {
  const root = document.getElementById("swagger-ui");
  const csrfToken = root.dataset.csrfToken;
  const unsafe = (method) => !["GET", "HEAD", "OPTIONS", undefined].includes(method);

  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // "Try it out" from a logged-in browser uses the session, which Django
    // protects against CSRF; token calls ignore the header.
    requestInterceptor: (request) => {
      if (csrfToken && unsafe(request.method)) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
})();
