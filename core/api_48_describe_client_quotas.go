package core

import (
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeClientQuotas: v0-1
//
// Behavior (Kafka's ZkAdminManager.describeClientQuotas):
//   - Needs DescribeConfigs on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED.
//   - Read from the coordination store (quota_store.go), not a cache.
//   - Filter components name entity types user, client-id or ip, each
//     at most once (INVALID_REQUEST otherwise; another type is
//     UNSUPPORTED_VERSION, as Kafka answers custom types); ip does not
//     combine with the others. A component matches an entity that has
//     that type with the name (EXACT), the default entity (DEFAULT), or
//     any name (ANY); an entity type no component names is allowed
//     unless Strict.
//   - Entries are the entities with client quota keys set, users before
//     clients, by name; an entity lists user then client-id (a null
//     name is the default entity), values by key. No ip quotas are
//     stored here (AlterClientQuotas refuses them).

// quotaEntityName is an entity component: a name, or nil for the
// default entity.
type quotaEntityName struct {
	set  bool // the entity has this component
	name *string
}

// parseQuotaEntity splits an entity path into its user and client-id
// components.
func parseQuotaEntity(path string) (user, client quotaEntityName, ok bool) {
	name := func(s string) quotaEntityName {
		if s == quotaDefault {
			return quotaEntityName{set: true}
		}
		d, err := desanitizeName(s)
		if err != nil {
			d = s
		}
		return quotaEntityName{set: true, name: &d}
	}
	parts := strings.Split(path, "/")
	switch {
	case len(parts) == 2 && parts[0] == "users":
		return name(parts[1]), quotaEntityName{}, true
	case len(parts) == 2 && parts[0] == "clients":
		return quotaEntityName{}, name(parts[1]), true
	case len(parts) == 4 && parts[0] == "users" && parts[2] == "clients":
		return name(parts[1]), name(parts[3]), true
	}
	return quotaEntityName{}, quotaEntityName{}, false
}

func (b *Broker) handleDescribeClientQuotas(r Request) {
	req := r.Body.(*kmsg.DescribeClientQuotasRequest)
	resp := kmsg.NewPtrDescribeClientQuotasResponse()
	if !b.authorizedCluster(r, kmsg.ACLOperationDescribeConfigs) {
		resp.ErrorCode = errClusterAuth
		b.respond(r, resp)
		return
	}
	var user, client, ip *kmsg.DescribeClientQuotasRequestComponent
	for i := range req.Components {
		c := &req.Components[i]
		var slot **kmsg.DescribeClientQuotasRequestComponent
		switch c.EntityType {
		case "user":
			slot = &user
		case "client-id":
			slot = &client
		case "ip":
			slot = &ip
		case "":
			resp.ErrorCode, resp.ErrorMessage = errInvalidRequest, errMsg("Unexpected empty filter component entity type")
		default:
			resp.ErrorCode, resp.ErrorMessage = errUnsupportedVersion, errMsg("Custom entity type '"+c.EntityType+"' not supported")
		}
		switch {
		case resp.ErrorCode != 0:
		case *slot != nil:
			resp.ErrorCode, resp.ErrorMessage = errInvalidRequest, errMsg("Duplicate "+c.EntityType+" filter component entity type")
		case c.MatchType == 0 && c.Match == nil, c.MatchType != 0 && c.Match != nil, c.MatchType < 0 || c.MatchType > 2:
			resp.ErrorCode, resp.ErrorMessage = errInvalidRequest, errMsg("Invalid match type or match for "+c.EntityType)
		default:
			*slot = c
		}
		if resp.ErrorCode != 0 {
			b.respond(r, resp)
			return
		}
	}
	if ip != nil && (user != nil || client != nil) {
		resp.ErrorCode, resp.ErrorMessage = errInvalidRequest, errMsg("Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component.")
		b.respond(r, resp)
		return
	}
	b.readQuotaEntities(func(entities map[string]map[string]float64, err error) {
		if err != nil {
			resp.ErrorCode, resp.ErrorMessage = kerr.UnknownServerError.Code, errMsg("reading the quotas: "+err.Error())
			b.respond(r, resp)
			return
		}
		if ip != nil {
			b.respond(r, resp) // no ip quotas
			return
		}
		matches := func(c *kmsg.DescribeClientQuotasRequestComponent, e quotaEntityName) bool {
			switch {
			case c == nil:
				return !e.set || !req.Strict
			case !e.set:
				return false
			case c.MatchType == 0:
				return e.name != nil && *e.name == *c.Match
			case c.MatchType == 1:
				return e.name == nil
			}
			return true
		}
		paths := sortedKeys(entities)
		sort.SliceStable(paths, func(i, j int) bool {
			return strings.HasPrefix(paths[i], "users/") && !strings.HasPrefix(paths[j], "users/")
		})
		for _, path := range paths {
			u, c, ok := parseQuotaEntity(path)
			if !ok || !matches(user, u) || !matches(client, c) {
				continue
			}
			e := kmsg.NewDescribeClientQuotasResponseEntry()
			for _, comp := range []struct {
				typ string
				n   quotaEntityName
			}{{"user", u}, {"client-id", c}} {
				if comp.n.set {
					ent := kmsg.NewDescribeClientQuotasResponseEntryEntity()
					ent.Type, ent.Name = comp.typ, comp.n.name
					e.Entity = append(e.Entity, ent)
				}
			}
			for _, k := range sortedKeys(entities[path]) {
				v := kmsg.NewDescribeClientQuotasResponseEntryValue()
				v.Key, v.Value = k, entities[path][k]
				e.Values = append(e.Values, v)
			}
			resp.Entries = append(resp.Entries, e)
		}
		b.respond(r, resp)
	})
}
