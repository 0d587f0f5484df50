package core

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterClientQuotas: v0-1
//
// Behavior (Kafka's ZkAdminManager.alterClientQuotas):
//   - Needs AlterConfigs on the cluster (acl.go): else every entry gets
//     CLUSTER_AUTHORIZATION_FAILED.
//   - An entity is a user, a client id, or both (a null name: the
//     default entity); an empty entity, an empty name, an entity type
//     given twice or another type is INVALID_REQUEST. ip entities
//     (connection_creation_rate) are INVALID_REQUEST here: connection
//     rates are not limited.
//   - Each op sets a key or removes it (Remove); keys are
//     producer_byte_rate, consumer_byte_rate (whole numbers),
//     request_percentage and controller_mutation_rate; another key, a
//     fraction for a whole-number key, or a value not above 0 is
//     INVALID_REQUEST, and nothing of the entry is stored.
//   - The entity's document (/config/users/<u>, .../clients/<c>,
//     /config/clients/<c>) keeps its other entries (SCRAM credentials);
//     it is written conditionally on the version read, retried when
//     another writer got there first; then a /config/changes
//     notification tells every broker. ValidateOnly stores nothing.
//   - The answer leaves once every entry is stored: this broker already
//     applies the new quotas.

// quotaWholeKeys are the quota keys Kafka types LONG.
var quotaWholeKeys = []string{quotaProduce, quotaFetch}

func (b *Broker) handleAlterClientQuotas(r Request) {
	req := r.Body.(*kmsg.AlterClientQuotasRequest)
	resp := kmsg.NewPtrAlterClientQuotasResponse()
	resp.Entries = make([]kmsg.AlterClientQuotasResponseEntry, len(req.Entries))
	allowed := b.authorizedCluster(r, kmsg.ACLOperationAlterConfigs)
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			b.respond(r, resp)
		}
	}
	for i, e := range req.Entries {
		out := &resp.Entries[i]
		*out = kmsg.NewAlterClientQuotasResponseEntry()
		for _, ent := range e.Entity {
			oe := kmsg.NewAlterClientQuotasResponseEntryEntity()
			oe.Type, oe.Name = ent.Type, ent.Name
			out.Entity = append(out.Entity, oe)
		}
		fail := func(code int16, msg string) {
			out.ErrorCode = code
			if msg != "" {
				out.ErrorMessage = errMsg(msg)
			}
		}
		if !allowed {
			fail(errClusterAuth, "")
			continue
		}
		path, err := quotaEntityPath(e.Entity)
		if err == nil {
			err = checkQuotaOps(e.Ops)
		}
		if err != nil {
			fail(errInvalidRequest, err.Error())
			continue
		}
		if req.ValidateOnly {
			continue
		}
		pending++
		b.alterQuotaEntity(path, e.Ops, func(err error) {
			if err != nil {
				fail(kerr.UnknownServerError.Code, "writing the quotas: "+err.Error())
			}
			finish()
		})
	}
	finish()
}

// quotaEntityPath is an entity's path under /config ("users/alice").
func quotaEntityPath(entity []kmsg.AlterClientQuotasRequestEntryEntity) (string, error) {
	if len(entity) == 0 {
		return "", errors.New("Invalid empty client quota entity")
	}
	var user, client *string
	var hasUser, hasClient bool
	name := func(n *string) string {
		if n == nil {
			return quotaDefault
		}
		return sanitizeName(*n)
	}
	for _, ent := range entity {
		if ent.Name != nil && *ent.Name == "" {
			return "", fmt.Errorf("Empty %s not supported", ent.Type)
		}
		switch ent.Type {
		case "user":
			if hasUser {
				return "", errors.New("Duplicate user entity type")
			}
			hasUser, user = true, ent.Name
		case "client-id":
			if hasClient {
				return "", errors.New("Duplicate client-id entity type")
			}
			hasClient, client = true, ent.Name
		case "ip":
			return "", errors.New("ip quotas (connection_creation_rate) are not supported: connection rates are not limited")
		default:
			return "", fmt.Errorf("Unhandled client quota entity type: %s", ent.Type)
		}
	}
	switch {
	case hasUser && hasClient:
		return "users/" + name(user) + "/clients/" + name(client), nil
	case hasUser:
		return "users/" + name(user), nil
	}
	return "clients/" + name(client), nil
}

// checkQuotaOps checks an entry's operations.
func checkQuotaOps(ops []kmsg.AlterClientQuotasRequestEntryOp) error {
	for _, op := range ops {
		switch {
		case op.Remove:
		case !slices.Contains(quotaKeys, op.Key):
			return fmt.Errorf("Invalid configuration key %s", op.Key)
		case math.IsNaN(op.Value) || op.Value <= 0:
			return fmt.Errorf("Quota %s must be greater than 0", op.Key)
		case slices.Contains(quotaWholeKeys, op.Key) && math.Abs(math.Round(op.Value)-op.Value) > 1e-6:
			return fmt.Errorf("Configuration %s must be a LONG value", op.Key)
		}
	}
	return nil
}

// quotaValue is how a quota value is stored: a whole number for the
// whole-number keys, as Kafka stores them.
func quotaValue(key string, v float64) string {
	if slices.Contains(quotaWholeKeys, key) {
		return strconv.FormatInt(int64(math.Round(v)), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// alterQuotaEntity applies ops to the entity's stored document (see
// alterEntityConfig) and updates this broker's quotas.
func (b *Broker) alterQuotaEntity(entity string, ops []kmsg.AlterClientQuotasRequestEntryOp, done func(error)) {
	b.alterEntityConfig(entity, func(config map[string]string) (map[string]string, error) {
		for _, op := range ops {
			if op.Remove {
				delete(config, op.Key)
			} else {
				config[op.Key] = quotaValue(op.Key, op.Value)
			}
		}
		return config, nil
	}, func(config map[string]string, err error) {
		if config != nil {
			b.setQuotaEntity(entity, quotasOf(config))
		}
		done(err)
	})
}
