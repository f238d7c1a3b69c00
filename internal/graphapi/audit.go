package graphapi

import (
	"net/http"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/store"
)

var auditSpec = odata.Spec{
	Fields: map[string]odata.FieldKind{
		"id": odata.String, "activityDateTime": odata.DateTime, "activityDisplayName": odata.String,
		"category": odata.String, "operationType": odata.String, "result": odata.Enum,
		"correlationId": odata.String, "loggedByService": odata.String,
	},
	Selectable: []string{"id", "activityDateTime", "activityDisplayName", "category", "correlationId", "loggedByService",
		"operationType", "result", "resultReason", "initiatedBy", "targetResources", "additionalDetails"},
	Orderable:  []string{"activityDateTime", "activityDisplayName"},
	MaxTop:     1000,
	DefaultTop: 100,
}

func (a *API) auditRoutes(add func(method, path string, h handlerFunc)) {
	add("GET", "/auditLogs/directoryAudits", a.listAudits)
	add("GET", "/auditLogs/directoryAudits/{id}", a.getAudit)
}

func auditJSON(e store.AuditEntry) map[string]any {
	var user, app any
	if e.InitiatedBy.UserID != "" || e.InitiatedBy.UserName != "" {
		user = map[string]any{"id": nullable(e.InitiatedBy.UserID), "displayName": nullable(e.InitiatedBy.UserName),
			"userPrincipalName": nullable(e.InitiatedBy.UserUPN), "ipAddress": nullable(e.InitiatedBy.IPAddress)}
	}
	if e.InitiatedBy.AppID != "" || e.InitiatedBy.AppName != "" {
		app = map[string]any{"appId": nullable(e.InitiatedBy.AppID), "displayName": nullable(e.InitiatedBy.AppName),
			"servicePrincipalId": nil, "servicePrincipalName": nil}
	}
	targets := make([]map[string]any, len(e.Targets))
	for i, t := range e.Targets {
		targets[i] = map[string]any{"id": t.ID, "displayName": nullable(t.DisplayName), "type": t.Type,
			"userPrincipalName": nullable(t.UserPrincipalName), "modifiedProperties": t.ModifiedProperties, "groupType": nil}
	}
	details := make([]map[string]string, 0, len(e.AdditionalDetails))
	for k, v := range e.AdditionalDetails {
		details = append(details, map[string]string{"key": k, "value": v})
	}
	return map[string]any{
		"id": e.ID, "activityDateTime": timeJSON(e.ActivityAt), "activityDisplayName": e.Activity, "category": e.Category,
		"correlationId": e.CorrelationID, "loggedByService": e.LoggedByService, "operationType": e.OperationType,
		"result": e.Result, "resultReason": e.ResultReason, "initiatedBy": map[string]any{"user": user, "app": app},
		"targetResources": targets, "additionalDetails": details,
	}
}

func (a *API) listAudits(c *call) error {
	if err := c.require(directory.ActionAuditRead); err != nil {
		return err
	}
	o, err := c.parseQuery(auditSpec)
	if err != nil {
		return err
	}
	q := listQuery(o)
	if q.OrderBy == "" {
		q.OrderBy, q.Desc = "activityDateTime", true
	}
	p, err := a.Store.ListAudits(c.ctx, c.tenant, q)
	if err != nil {
		return storeQueryError(err)
	}
	items := make([]map[string]any, len(p.Items))
	for i, e := range p.Items {
		items[i] = auditJSON(e)
	}
	var count *int
	if o.Count {
		count = &p.Count
	}
	return a.collection(c, "auditLogs/directoryAudits", items, p.Next, count, o.Select)
}

func (a *API) getAudit(c *call) error {
	if err := c.require(directory.ActionAuditRead); err != nil {
		return err
	}
	id := c.r.PathValue("id")
	e, err := a.Store.GetAudit(c.ctx, c.tenant, id)
	if err != nil {
		return apperr.FromStore(err, "Resource '"+truncate(id, 64)+"'")
	}
	return a.entity(c, http.StatusOK, "auditLogs/directoryAudits/$entity", auditJSON(e))
}
