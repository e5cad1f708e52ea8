// doseflow API reference: start the bundled Swagger UI on this service's OpenAPI
// description. A file, not an inline script, so the Content-Security-Policy can allow only
// scripts from this origin. No validator badge: it would load an image from another host.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis]
  });
})();
