package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/vakt-id/vakt/internal/store"
)

const auditCols = `id, tenant_id, activity_at, activity, category, operation_type, result, result_reason,
	correlation_id, logged_by_service, initiated_by, targets, details`

// AppendAudit writes one audit entry. Call it inside the transaction of
// the change it records, so neither exists without the other.
func (db *DB) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if e.Targets == nil {
		e.Targets = []store.AuditTarget{}
	}
	for i := range e.Targets {
		if e.Targets[i].ModifiedProperties == nil {
			e.Targets[i].ModifiedProperties = []store.ModifiedProperty{}
		}
	}
	if e.AdditionalDetails == nil {
		e.AdditionalDetails = map[string]string{}
	}
	_, err := db.exec(ctx, `INSERT INTO audit_entries (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.TenantID, toMicros(e.ActivityAt), e.Activity, e.Category, e.OperationType, e.Result, e.ResultReason,
		e.CorrelationID, e.LoggedByService, jsonText(e.InitiatedBy), jsonText(e.Targets), jsonText(e.AdditionalDetails))
	if err != nil {
		return fmt.Errorf("insert audit entry: %w", err)
	}
	return nil
}

func scanAudit(r rowScanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	var at int64
	var by, targets, details string
	if err := r.Scan(&e.ID, &e.TenantID, &at, &e.Activity, &e.Category, &e.OperationType, &e.Result, &e.ResultReason,
		&e.CorrelationID, &e.LoggedByService, &by, &targets, &details); err != nil {
		return e, err
	}
	e.ActivityAt = fromMicros(at)
	if err := json.Unmarshal([]byte(by), &e.InitiatedBy); err != nil {
		return e, fmt.Errorf("audit %s initiator: %w", e.ID, err)
	}
	if err := json.Unmarshal([]byte(targets), &e.Targets); err != nil {
		return e, fmt.Errorf("audit %s targets: %w", e.ID, err)
	}
	if err := json.Unmarshal([]byte(details), &e.AdditionalDetails); err != nil {
		return e, fmt.Errorf("audit %s details: %w", e.ID, err)
	}
	return e, nil
}

// GetAudit reads one audit entry.
func (db *DB) GetAudit(ctx context.Context, tenantID, id string) (store.AuditEntry, error) {
	e, err := scanAudit(db.queryRow(ctx, `SELECT `+auditCols+` FROM audit_entries WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return e, notFound(err)
}

var auditFields = map[string]column{
	"id":                  {expr: "id"},
	"activityDateTime":    {expr: "activity_at", isInt: true},
	"activityDisplayName": {expr: "activity"},
	"category":            {expr: "category"},
	"operationType":       {expr: "operation_type"},
	"result":              {expr: "result"},
	"correlationId":       {expr: "correlation_id"},
	"loggedByService":     {expr: "logged_by_service"},
}

// ListAudits pages through audit entries, newest first unless ordered.
func (db *DB) ListAudits(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[store.AuditEntry], error) {
	spec := listSpec{from: "audit_entries", cols: auditCols, where: "tenant_id = ?", args: []any{tenantID},
		fields: auditFields, defaultOrder: "activityDateTime", defaultDesc: true}
	field := q.OrderBy
	if field == "" {
		field = spec.defaultOrder
	}
	return list(ctx, db, spec, q, func(rows *sql.Rows) (store.AuditEntry, string, string, error) {
		e, err := scanAudit(rows)
		v := e.ID
		switch field {
		case "activityDateTime":
			v = fmt.Sprint(toMicros(e.ActivityAt))
		case "activityDisplayName":
			v = e.Activity
		case "category":
			v = e.Category
		case "operationType":
			v = e.OperationType
		case "result":
			v = e.Result
		case "correlationId":
			v = e.CorrelationID
		case "loggedByService":
			v = e.LoggedByService
		}
		return e, v, e.ID, err
	})
}
