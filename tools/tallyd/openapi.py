"""Writes tools/tallyd/openapi.json, the OpenAPI 3.1 document of tally's HTTP API:

    python3 tools/tallyd/openapi.py > tools/tallyd/openapi.json

Edit this file, not the JSON; the test openapi_in_sync fails when they differ.
OpenApiRoutesTest and tests/contract/ hold the server to the document.
"""
import json
S = lambda **kw: dict(kw)
string = {"type": "string"}
integer = {"type": "integer"}
number = {"type": "number"}
boolean = {"type": "boolean"}
def ref(n): return {"$ref": "#/components/schemas/" + n}
def obj(props, required=(), extra=True):
    o = {"type": "object", "properties": props}
    if required: o["required"] = list(required)
    if not extra: o["additionalProperties"] = False
    return o
def nullable(s): return {"anyOf": [s, {"type": "null"}]}

schemas = {
 "Error": obj({"code": integer, "description": string, "data": {"type": "array"}, "source": string},
              ["code", "description", "data", "source"]),
 "Link": obj({"uri": string, "method": string,
              "headers": {"type": "array", "items": obj({"key": string, "value": string}, ["key", "value"])}},
             ["uri", "method", "headers"]),
 "Attributes": obj({"objectType": string, "etag": string}),
 "Address": obj({k: string for k in ["firstName", "middleName", "lastName", "addressLine1", "addressLine2",
                 "addressLine3", "city", "state", "region", "postalCode", "country", "phoneNumber"]}),
 "CompanyProfile": obj({"tenantId": string, "domain": string, "companyName": string,
                        "organizationRegistrationNumber": string, "id": string,
                        "links": {"type": "object"}, "attributes": ref("Attributes")}),
 "BillingProfile": obj({"id": string, "email": string, "culture": string, "language": string,
                        "companyName": string, "firstName": string, "lastName": string,
                        "defaultAddress": ref("Address"), "links": {"type": "object"},
                        "attributes": ref("Attributes")}),
 "Customer": obj({"id": string, "companyProfile": ref("CompanyProfile"), "billingProfile": ref("BillingProfile"),
                  "userCredentials": obj({"userName": string, "password": string}),
                  "relationshipToPartner": string, "status": string, "instance": string,
                  "createdAt": string, "updatedAt": string,
                  "links": obj({"self": ref("Link")}), "attributes": ref("Attributes")},
                 ["id", "companyProfile", "billingProfile", "relationshipToPartner", "attributes"]),
 "CustomerCreated": {"allOf": [ref("Customer"), obj({
     "orders": {"type": "array", "items": obj({"id": string, "lineItems": {"type": "array", "items": obj({
         "subscriptionId": string, "offerId": string, "quantity": integer})}})},
     "position": integer}, ["position"])]},
 "NewCustomer": obj({"companyProfile": ref("CompanyProfile"), "billingProfile": ref("BillingProfile"),
                     "lineItems": {"type": "array", "items": ref("OrderLineItem")},
                     "agreement": ref("Agreement"),
                     "enableGDAPByDefault": boolean, "id": string, "commerceId": string,
                     "relationshipToPartner": string, "allowDelegatedAccess": boolean,
                     "userCredentials": {"type": "object"}, "customDomains": {"type": "array"},
                     "associatedPartnerId": string, "links": {"type": "object"}, "attributes": ref("Attributes")},
                    ["companyProfile", "billingProfile"]),
 "OrderLineItem": obj({"lineItemNumber": integer, "offerId": string, "subscriptionId": nullable(string),
                       "parentSubscriptionId": nullable(string), "friendlyName": string, "quantity": integer,
                       "billingCycle": string, "termDuration": string, "transactionType": string,
                       "partnerIdOnRecord": nullable(string), "provisioningContext": {"type": "object"},
                       "renewsTo": {"type": "object"}, "customTermEndDate": string,
                       "attestationAccepted": boolean, "pricing": {"type": "object"},
                       "purchaseCommitment": {"type": "object"},
                       "links": obj({"subscription": ref("Link")}), "attributes": ref("Attributes")},
                      ["offerId", "quantity"]),
 "Order": obj({"id": nullable(string), "alternateId": string, "referenceCustomerId": string,
               "billingCycle": string, "transactionType": string, "currencyCode": string,
               "currencySymbol": string, "lineItems": {"type": "array", "items": ref("OrderLineItem")},
               "creationDate": nullable(string), "status": string,
               "links": obj({"self": ref("Link")}), "attributes": ref("Attributes"), "position": integer},
              ["lineItems"]),
 "Subscription": obj({"id": string, "offerId": string, "offerName": string, "friendlyName": string,
                      "quantity": integer, "status": {"type": "string", "enum": ["active", "suspended", "deleted", "expired", "disabled"]},
                      "billingCycle": string, "autoRenewEnabled": boolean, "orderId": string, "isAddOn": boolean,
                      "creationDate": string, "lastModified": string, "parentSubscriptionId": string,
                      "termDuration": string, "renewalTermDuration": string, "effectiveStartDate": string,
                      "commitmentEndDate": string, "commitmentEndDateTime": string,
                      "cancellationAllowedUntilDate": string,
                      "scheduledNextTermInstructions": ref("NextTermInstructions"),
                      "refundableQuantity": obj({"totalQuantity": integer, "details": {"type": "array", "items": obj(
                          {"quantity": integer, "allowedUntilDateTime": string}, ["quantity", "allowedUntilDateTime"])}},
                                                ["totalQuantity", "details"]),
                      "links": {"type": "object", "properties": {"self": ref("Link"), "offer": ref("Link"),
                                                                 "parentSubscription": ref("Link")}},
                      "attributes": ref("Attributes")},
                     ["id", "offerId", "quantity", "status", "orderId", "attributes"]),
 "NextTermInstructions": obj({"product": obj({"productId": string, "skuId": string, "availabilityId": string,
                                              "termDuration": string, "billingCycle": string}),
                              "quantity": integer, "customTermEndDate": string}, ["quantity"]),
 "SubscriptionPatch": obj({"quantity": integer, "scheduledNextTermInstructions": ref("NextTermInstructions"), "status": {"type": "string", "enum": ["active", "suspended", "deleted"]},
                           "friendlyName": string, "autoRenewEnabled": boolean,
                           "id": string, "offerId": string, "offerName": string, "billingCycle": string,
                           "orderId": string, "isAddOn": boolean, "creationDate": string, "lastModified": string,
                           "parentSubscriptionId": string, "links": {"type": "object"},
                           "attributes": ref("Attributes")}),
 "Offer": obj({"id": string, "name": string, "description": string, "minimumQuantity": integer,
               "maximumQuantity": integer, "isAddOn": boolean,
               "prerequisiteOffers": {"type": "array", "items": string},
               "supportedBillingCycles": {"type": "array", "items": string}, "instance": string,
               "prices": {"type": "array", "items": obj({"termDuration": string, "billingCycle": string,
                                                          "unitPrice": {"type": "number"}, "currency": string,
                                                          "effectiveStartDate": string},
                                                         ["termDuration", "billingCycle", "unitPrice", "currency",
                                                          "effectiveStartDate"])}},
              ["id", "name", "isAddOn", "prices"]),
 "SubscribedSku": obj({"offerId": string, "offerName": string, "activeUnits": integer, "suspendedUnits": integer,
                       "addOnUnits": integer, "subscriptions": integer}, ["offerId"]),
 "Agreement": obj({"primaryContact": obj({"firstName": string, "lastName": string, "email": string,
                                            "phoneNumber": string}, ["firstName", "lastName", "email"]),
                   "dateAgreed": string, "templateId": string,
                   "type": {"type": "string", "enum": ["MicrosoftCustomerAgreement"]},
                   "agreementLink": string, "userId": string, "links": {"type": "object"}, "attributes": ref("Attributes")},
                  ["primaryContact", "dateAgreed", "templateId", "type"]),
 "AgreementMetaData": obj({"templateId": string, "agreementType": string, "agreementLink": string,
                           "versionRank": integer, "attributes": ref("Attributes")},
                          ["templateId", "agreementType", "agreementLink"]),
 "PartnerLink": obj({"partnerId": string, "role": string, "since": string}, ["partnerId", "role"]),
 "PendingInvitation": obj({"invitationId": string, "partnerId": string, "requestedAt": string}, ["invitationId", "partnerId"]),
 "RebuildState": obj({"state": {"type": "string", "enum": ["idle", "running", "done", "failed"]},
                      "models": {"type": "array", "items": string}, "position": integer, "head": integer,
                      "startedAt": string, "finishedAt": string, "error": string}, ["state", "models", "position", "head"]),
 "BillingLineItem": obj({"partnerId": string, "customerId": string, "subscriptionId": string, "productId": string,
                         "chargeType": {"type": "string", "enum": ["new", "addQuantity", "removeQuantity",
                                                                    "cancelImmediate", "renew", "cycleCharge"]},
                         "chargeStartDate": string, "chargeEndDate": string, "unitPrice": number,
                         "effectiveUnitPrice": number, "quantity": integer, "billableQuantity": number,
                         "subtotal": number, "taxTotal": number, "total": number, "currency": string,
                         "termAndBillingCycle": string, "termDuration": string, "billingCycle": string,
                         "subscriptionStartDate": string, "subscriptionEndDate": string, "days": integer,
                         "periodDays": integer,
                         "minorUnits": obj({"unitPrice": integer, "effectiveUnitPrice": integer, "subtotal": integer},
                                           ["unitPrice", "effectiveUnitPrice", "subtotal"]),
                         "position": integer, "attributes": ref("Attributes")},
                        ["customerId", "subscriptionId", "chargeType", "chargeStartDate", "chargeEndDate", "unitPrice",
                         "quantity", "subtotal", "currency", "minorUnits", "position"]),
 "Changed": obj({"customerId": string, "position": integer}, ["customerId", "position"]),
 "Invitation": obj({"customerId": string, "invitationId": string, "position": integer},
                   ["customerId", "invitationId", "position"]),
 "Health": obj({"status": {"enum": ["ok", "degraded", "damaged"]}, "head": integer, "instance": string,
                "writes": {"type": "object"}, "damage": {"type": "array", "items": ref("LogDamage")},
                "readModels": {"type": "array"}, "kafka": {"type": "object"}}, ["status", "head"]),
 "LogDamage": obj({"firstPosition": integer, "lastPosition": integer, "witness": string, "detail": string},
                  ["firstPosition", "lastPosition", "witness", "detail"]),
 "Erasure": obj({"customerId": string, "position": integer, "erasedBefore": boolean},
                ["customerId", "position", "erasedBefore"]),
}
def collection(item):
    return obj({"totalCount": integer, "items": {"type": "array", "items": ref(item)},
                "continuationToken": string, "links": obj({"next": ref("Link")}),
                "attributes": ref("Attributes")}, ["totalCount", "items"])
for n in ["Customer", "Subscription", "Order", "Offer", "SubscribedSku", "PartnerLink", "PendingInvitation", "Agreement", "AgreementMetaData"]:
    schemas[n + "Collection"] = collection(n)
schemas["BillingLineItemCollection"] = obj({**collection("BillingLineItem")["properties"], "position": integer,
                                            "periodStart": string},
                                           ["totalCount", "items", "position", "periodStart"])

def param(name, where="path", schema=string, required=None, desc=None):
    p = {"name": name, "in": where, "schema": schema, "required": (where == "path") if required is None else required}
    if desc: p["description"] = desc
    return p
cust = param("customerId"); sub = param("subscriptionId"); order = param("orderId"); offer = param("offerId")
minpos = param("minPosition", "query", {"type": "integer", "minimum": 0},
               desc="Answer once the read models have applied this log position (a write's `position`).")
size = param("size", "query", {"type": "integer", "minimum": 1, "maximum": 500}, desc="Page size.")
cont = param("continuation", "query", string, desc="The token of the previous page (also accepted as the MS-ContinuationToken header).")
ifmatch = param("If-Match", "header", string, desc="The ETag a GET answered with.")
billing_query = [
    param("provider", "query", {"type": "string", "enum": ["onetime", "OneTime"]}, True, "onetime: new-commerce items (any case)."),
    param("invoicelineitemtype", "query", {"type": "string", "enum": ["billinglineitems", "BillingLineItems"]}, True,
          "billinglineitems (any case)."),
    param("currencycode", "query", {"type": "string", "enum": ["USD", "usd"]}, True, "The catalog's currency (any case)."),
    param("period", "query", {"type": "string", "enum": ["current", "previous", "Current", "Previous"]}, True,
          "current: this month's lines that have begun; previous: last month's."),
    param("size", "query", {"type": "integer", "minimum": 1, "maximum": 500}, desc="Page size (default 2000)."),
    cont]
agreement_type = param("agreementType", "query", {"type": "string", "enum": ["MicrosoftCustomerAgreement", "MicrosoftCloudAgreement", "*"]},
                       desc="Which agreements (any case); Partner Center's default is MicrosoftCloudAgreement, of which tally holds none.")

def ok(schema, status="200", desc="OK", ctype="application/json"):
    return {status: {"description": desc, "content": {ctype: {"schema": ref(schema) if isinstance(schema, str) else schema}}}}
def errors():
    return {"default": {"description": "An error: 4xx for a refused request (nothing changed), 5xx for a failure of tally's own.",
                        "content": {"application/json": {"schema": ref("Error")}}}}
EXAMPLES = {
 "NewCustomer": {"docs": {"summary": "developer/create-a-customer.md's request (without its trailing commas)", "value": {
    "enableGDAPByDefault": False,
    "CompanyProfile": {"Domain": "xyz.ccsctp.net"},
    "BillingProfile": {"Culture": "EN-US", "Email": "test@outlook.com", "Language": "en", "CompanyName": "test company",
                       "DefaultAddress": {"FirstName": "Test", "LastName": "Test", "AddressLine1": "One Microsoft Way",
                                          "City": "Redmond", "State": "WA", "PostalCode": "98052", "Country": "US"}}}}},
 "Order": {"basic": {"summary": "Five seats of Microsoft 365 Business Basic", "value": {
    "billingCycle": "monthly",
    "lineItems": [{"lineItemNumber": 0, "offerId": "3b555118-da6a-4418-894f-7df1e2096870", "quantity": 5,
                   "friendlyName": "Basic"}]}}},
 "SubscriptionPatch": {"quantity": {"summary": "Change the number of seats", "value": {"quantity": 7}}},
 "Agreement": {"docs": {"summary": "developer/confirm-customer-consent-customer-agreement.md's request", "value": {
    "primaryContact": {"firstName": "Tania", "lastName": "Carr", "email": "SomeEmail@Outlook.com", "phoneNumber": "1234567890"},
    "templateId": "998b88de-aa99-4388-a42c-1b3517d49490", "dateAgreed": "2019-08-26T00:00:00",
    "type": "MicrosoftCustomerAgreement"}}},
}
def body(schema):
    content = {"schema": ref(schema)}
    if schema in EXAMPLES: content["examples"] = EXAMPLES[schema]
    return {"required": True, "content": {"application/json": content}}
def op(summary, responses, params=(), request=None, security=True, tag="partner"):
    o = {"summary": summary, "tags": [tag], "parameters": list(params), "responses": {**responses, **errors()}}
    if request: o["requestBody"] = body(request)
    if not security: o["security"] = []
    return o

paths = {
 "/healthz": {"get": op("Liveness, the log head, read models and Kafka relay state; 503 while the log is damaged",
                        {**ok("Health"), **ok("Health", "503", "The event log is damaged")}, security=False, tag="operations")},
 "/readyz": {"get": op("Whether writes are served: as /healthz, 503 also while writes are refused (a full disk)",
                       {**ok("Health"), **ok("Health", "503", "Writes are refused")}, security=False, tag="operations")},
 "/metrics": {"get": op("Prometheus metrics", ok({"type": "string"}, ctype="text/plain"), security=False, tag="operations")},
 "/openapi.json": {"get": op("This document", ok({"type": "object"}), security=False, tag="operations")},
 "/admin/v1/customers/{customerId}/forget": {"post": {**op("Erase a customer's personal data (operator token)", ok("Erasure"),
        [param("customerId", desc="The customer's id or domain")], tag="admin"),
        "requestBody": {"required": False, "content": {"application/json": {"schema": obj({"reason": string})}}},
        "security": [{"operatorToken": []}]}},
 "/admin/v1/clock": {
   "get": {**op("The simulated clock's time (operator token; 404 with a real clock)", ok(obj({"now": string, "simulated": boolean}, ["now"])), tag="admin"),
           "security": [{"operatorToken": []}]},
   "post": {**op("Move the simulated clock forward (operator token; 404 with a real clock; never backwards)",
                 ok(obj({"now": string, "simulated": boolean}, ["now"])), tag="admin"),
            "requestBody": {"required": True, "content": {"application/json": {"schema": obj({"now": string}, ["now"])}}},
            "security": [{"operatorToken": []}]}},
 "/admin/v1/rebuild": {
   "get": {**op("The last rebuild asked for through this API, and how far it is (operator token)", ok("RebuildState"), tag="admin"),
           "security": [{"operatorToken": []}]},
   "post": {**op("Rebuild read models beside the live ones, then hand them over (operator token); 503 while one runs",
                 ok("RebuildState", "202", "Started"), tag="admin"),
            "requestBody": {"required": True, "content": {"application/json": {"schema": obj(
                {"models": {"type": "array", "items": {"type": "string", "enum": ["customer", "license", "relationship", "billing", "all"]}}},
                ["models"])}}},
            "security": [{"operatorToken": []}]}},
 "/admin/v1/events": {"get": {**op("The event browser: events as `tallyctl replay` prints them, filtered (operator token)",
        ok(obj({"items": {"type": "array", "items": {"type": "object"}}, "head": integer, "next": integer, "customerId": string},
               ["items", "head"])),
        [param("from", "query", {"type": "integer", "minimum": 0}, desc="First position (default 1)"),
         param("to", "query", {"type": "integer", "minimum": 0}, desc="Last position (default: the head)"),
         param("customer", "query", string, desc="Only this customer's stream (its id or domain)"),
         param("type", "query", string, desc="Only this event type, e.g. CustomerCreated"),
         param("partner", "query", string, desc="Only events of this partner's commands"),
         param("since", "query", string, desc="Recorded at or after: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.ffffff]Z"),
         param("until", "query", string, desc="Recorded at or before (a date alone: the end of that day)"),
         param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, desc="At most this many (default 100)")],
        tag="admin"), "security": [{"operatorToken": []}]}},
 "/admin/v1/verify": {"post": {**op("Recompute the hash chain over a range of positions (operator token)",
        ok(obj({"ok": boolean, "checked": integer, "from": integer, "to": integer, "seconds": {"type": "number"},
                "firstBad": integer, "reason": string, "damage": {"type": "array", "items": ref("LogDamage")}},
               ["ok", "checked", "from", "to"])), tag="admin"),
        "requestBody": {"required": False, "content": {"application/json": {"schema": obj(
            {"from": {"type": "integer", "minimum": 1}, "to": {"type": "integer", "minimum": 0}})}}},
        "security": [{"operatorToken": []}]}},
 "/v1/offers": {"get": op("The offers of this instance", ok("OfferCollection"))},
 "/v1/offers/{offerId}": {"get": op("One offer", ok("Offer"), [offer])},
 "/v1/offers/{offerId}/addons": {"get": op("The add-ons of an offer", ok("OfferCollection"), [offer])},
 "/v1/agreements": {"get": op("The agreement templates (AgreementMetaData) of this service (403 in usgov)",
        ok("AgreementMetaDataCollection"), [agreement_type])},
 "/v1/invoices/unbilled/lineitems": {"get": op(
        "The calling partner's unbilled billing line items (the billing read model), paged; `position`: the log position they reflect at least",
        ok("BillingLineItemCollection"), billing_query + [minpos])},
 "/v1/customers/{customerId}/invoices/unbilled/lineitems": {"get": op(
        "One customer's unbilled billing line items from the calling partner, paged", ok("BillingLineItemCollection"),
        [cust] + billing_query + [minpos])},
 "/v1/domains/{domain}": {"head": op("Whether a domain is taken: 200 taken, 404 free",
        {"200": {"description": "taken"}, "404": {"description": "free"}}, [param("domain")])},
 "/v1/customers": {
   "get": op("The partner's customers, paged", ok("CustomerCollection"),
             [size, cont, param("companyName", "query", string, desc="Company names starting with this, any case"), minpos]),
   "post": op("Add a customer (and optionally its first order)", {**ok("CustomerCreated", "201", "Created")},
              [], "NewCustomer")},
 "/v1/customers/{customerId}": {"get": op("One customer", ok("Customer"), [cust, minpos])},
 "/v1/customers/{customerId}/profiles/billing": {
   "get": op("The customer's billing profile", ok("BillingProfile"), [cust, minpos]),
   "put": op("Replace the billing profile (the whole profile, as GET returned it, is accepted)", ok("Changed"), [cust, ifmatch], "BillingProfile"),
   "patch": op("The same as PUT", ok("Changed"), [cust, ifmatch], "BillingProfile")},
 "/v1/customers/{customerId}/profiles/company": {
   "get": op("The customer's company profile", ok("CompanyProfile"), [cust, minpos])},
 "/v1/customers/{customerId}/orders": {
   "get": op("The partner's orders of this customer", ok("OrderCollection"), [cust, minpos]),
   "post": op("Place an order: one subscription per line", ok("Order", "201", "Created"), [cust], "Order")},
 "/v1/customers/{customerId}/orders/{orderId}": {
   "get": op("One order", ok("Order"), [cust, order, minpos]),
   "patch": op("Buy an add-on: the order (whole, or only the new line) with one new line naming parentSubscriptionId",
               ok("Order"), [cust, order], "Order")},
 "/v1/customers/{customerId}/subscriptions": {
   "get": op("The partner's subscriptions of this customer, in the order they were bought", ok("SubscriptionCollection"), [cust, size, cont, minpos])},
 "/v1/customers/{customerId}/subscriptions/{subscriptionId}": {
   "get": op("One subscription", ok("Subscription"), [cust, sub, minpos]),
   "patch": op("Change quantity, status, friendlyName or autoRenewEnabled (the whole resource, as GET returned it, is accepted)",
               ok("Changed"), [cust, sub, ifmatch], "SubscriptionPatch")},
 "/v1/customers/{customerId}/subscriptions/{subscriptionId}/addons": {
   "get": op("The add-ons of a subscription", ok("SubscriptionCollection"), [cust, sub, size, cont, minpos])},
 "/v1/customers/{customerId}/subscribedskus": {
   "get": op("Licence totals per offer", ok("SubscribedSkuCollection"), [cust, minpos])},
 "/v1/customers/{customerId}/relationshiprequests": {
   "get": op("The customer's pending invitations (made, not yet accepted)", ok("PendingInvitationCollection"), [cust, minpos]),
   "post": op("Invite the customer to a relationship with the calling partner", ok("Invitation", "201", "Created"), [cust])},
 "/v1/customers/{customerId}/relationshiprequests/{invitationId}/acceptance": {
   "post": op("Accept an invitation (as the customer would)", ok("Changed"), [cust, param("invitationId")])},
 "/v1/customers/{customerId}/relationship": {
   "delete": op("End the calling partner's relationship with the customer", ok("Changed"), [cust])},
 "/v1/customers/{customerId}/agreements": {
   "get": op("The customer's confirmed agreements (403 in usgov)", ok("AgreementCollection"), [cust, agreement_type, minpos]),
   "post": op("Confirm the customer's acceptance of the Microsoft Customer Agreement (global instance; required to buy)",
              ok("Agreement", "201", "Created"), [cust], "Agreement")},
 "/v1/customers/{customerId}/partners": {
   "get": op("The partners serving the customer", ok("PartnerLinkCollection"), [cust, minpos])},
}
doc = {
 "openapi": "3.1.0",
 "info": {"title": "tally", "version": "1",
          "description": "tally's HTTP API: Partner Center's REST API for customers, orders, subscriptions and relationships, "
                         "plus tally's operations endpoints. Errors are {code, description, data, source} with the HTTP status "
                         "of README.md's error table. Bodies take camelCase or PascalCase keys."},
 "servers": [{"url": "/"}],
 "security": [{"partnerToken": []}],
 "paths": paths,
 "components": {"schemas": schemas,
   "securitySchemes": {"partnerToken": {"type": "http", "scheme": "bearer", "description": "A partner's token (tallyctl partners add NAME)"},
                       "operatorToken": {"type": "http", "scheme": "bearer", "description": "An operator's token (tallyctl operators add NAME)"}}},
}
print(json.dumps(doc, indent=1))
