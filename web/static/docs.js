// Render /openapi.yaml (the canonical spec, served by every port) with Swagger UI.
// validatorUrl: null, or Swagger UI would send the spec to an online validator.
window.ui = SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
});
