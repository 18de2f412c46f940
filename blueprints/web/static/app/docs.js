// Swagger UI over the service's own OpenAPI document; "Authorize" takes a bearer token.
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    persistAuthorization: false,
  });
});
