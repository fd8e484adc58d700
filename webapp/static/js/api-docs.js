// The API's contract for people: Swagger UI renders /api/openapi.json, which the server
// generates from its own code. Module scripts run after deferred classic ones, so the
// global SwaggerUIBundle exists here.

const main = document.getElementById('main');

window.SwaggerUIBundle({
  url: main.dataset.openapiUrl,
  dom_id: '#swagger-ui',
  // Moderators' calls need their token; Swagger UI keeps it in this tab's memory only.
  persistAuthorization: false,
  // The contract is read here, never sent to a validator on another site.
  validatorUrl: null,
  deepLinking: true,
});
