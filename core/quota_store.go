package core

import (
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
	// take keeps the quotas of dir's documents; with nested (users), it
	// reads each user's clients too.
	var take func(dir string, nested bool)
	take = func(dir string, nested bool) {
		pending++
		b.readDocs(dir, func(docs map[string][]byte, err error) {
			defer finish()
			if err != nil {
				failed = err
				return
			}
			for _, name := range sortedKeys(docs) {
				entity, ok := quotaEntityOfPath(dir + name)
				config, err := userConfig(docs[name])
				if q := quotasOf(config); ok && err == nil && len(q) > 0 {
					out[entity] = q
				}
				if nested {
					take(dir+name+"/clients/", false)
				}
			}
		})
	}
	take(zkUsers, true)
	take(zkClients, false)
	finish()
}
