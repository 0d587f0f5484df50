package core

import (
	"errors"
	"strconv"
	"strings"
)

// Client quotas in the coordination store, as Kafka keeps them: each
// entity's configuration document ({"version":1,"config":{...}}) at
// /config/users/<user>, /config/users/<user>/clients/<client-id> or
// /config/clients/<client-id> (names sanitized; <default> as is), and a
// /config/changes notification naming the entity after each change.
// Every broker reloads the quotas when it registers and when a
// notification arrives.

const zkClients = "/config/clients/"

// quotasOf is the client quota entries of an entity's configuration;
// values that are not numbers are left out.
func quotasOf(config map[string]string) map[string]float64 {
	out := map[string]float64{}
	for _, k := range quotaKeys {
		if v, ok := config[k]; ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				out[k] = f
			}
		}
	}
	return out
}

// quotaEntityOfPath reads a znode path as a quota entity path
// ("users/alice", "users/alice/clients/app", "clients/app").
func quotaEntityOfPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/config/")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && (parts[0] == "users" || parts[0] == "clients") && parts[1] != "":
	case len(parts) == 4 && parts[0] == "users" && parts[1] != "" && parts[2] == "clients" && parts[3] != "":
	default:
		return "", false
	}
	return rest, true
}

// setQuotaEntity replaces an entity's quotas (none: forgets it).
func (b *Broker) setQuotaEntity(entity string, q map[string]float64) {
	if len(q) == 0 {
		delete(b.quota.entities, entity)
		return
	}
	if b.quota.entities == nil {
		b.quota.entities = map[string]map[string]float64{}
	}
	b.quota.entities[entity] = q
}

// quotaRetryMs spaces the attempts to reload the quotas after a read of
// the store failed.
const quotaRetryMs = 1000

// quotaTick retries a failed reload.
func (b *Broker) quotaTick() {
	if b.quota.reloadAt != 0 && b.now >= b.quota.reloadAt {
		b.quota.reloadAt = 0
		b.loadQuotas()
	}
}

// recoverQuotas fills the quotas from the recovered znodes.
func (b *Broker) recoverQuotas(byPath map[string][]byte) {
	for _, path := range sortedKeys(byPath) {
		entity, ok := quotaEntityOfPath(path)
		if !ok {
			continue
		}
		if config, err := userConfig(byPath[path]); err == nil {
			b.setQuotaEntity(entity, quotasOf(config))
		}
	}
}

// loadQuotas reloads every entity's quotas and watches /config/changes
// for the next change; called at registration and when the watch fires.
func (b *Broker) loadQuotas() {
	b.quota.epoch++
	epoch := b.quota.epoch
	watched := false
	var loaded map[string]map[string]float64
	failed := false
	finish := func() {
		if !watched || loaded == nil && !failed || epoch != b.quota.epoch {
			return
		}
		if failed {
			b.quota.reloadAt = b.now + Instant(quotaRetryMs*1e6)
			return
		}
		b.quota.entities = loaded
	}
	b.coordRead(CoordOp{Kind: CoordChildren, Path: zkConfigChange, Watch: true}, func(r CoordResult) {
		watched, failed = true, failed || r.Err != nil
		if r.Err == nil {
			b.noteNotifications(zkConfigChange, r.Children)
		}
		finish()
	})
	b.readQuotaEntities(func(entities map[string]map[string]float64, err error) {
		loaded, failed = entities, failed || err != nil
		if loaded == nil {
			loaded = map[string]map[string]float64{}
		}
		finish()
	})
}

// readQuotaEntities reads every entity's client quotas from the store,
// by entity path (entities without any left out).
func (b *Broker) readQuotaEntities(done func(map[string]map[string]float64, error)) {
	out := map[string]map[string]float64{}
	pending := 1
	var failed error
	finish := func() {
		if pending--; pending == 0 {
			done(out, failed)
		}
	}
	var readDir func(dir string, nested bool)
	readDir = func(dir string, nested bool) {
		pending++
		b.coordRead(CoordOp{Kind: CoordChildren, Path: strings.TrimSuffix(dir, "/")}, func(r CoordResult) {
			defer finish()
			if errors.Is(r.Err, ErrCoordNoNode) {
				return
			}
			if r.Err != nil {
				failed = r.Err
				return
			}
			for _, name := range r.Children {
				path := dir + name
				pending++
				b.coordRead(CoordOp{Kind: CoordGet, Path: path}, func(r CoordResult) {
					defer finish()
					switch {
					case errors.Is(r.Err, ErrCoordNoNode):
					case r.Err != nil:
						failed = r.Err
					default:
						entity, ok := quotaEntityOfPath(path)
						config, err := userConfig(r.Data)
						if q := quotasOf(config); ok && err == nil && len(q) > 0 {
							out[entity] = q
						}
					}
				})
				if nested {
					readDir(path+"/clients/", false)
				}
			}
		})
	}
	readDir(zkUsers, true)
	readDir(zkClients, false)
	finish()
}
