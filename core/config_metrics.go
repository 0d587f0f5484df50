package core

import (
	"fmt"
	"strconv"
	"strings"
)

// MetricsConfig is the runtime's HTTP admin listener (/metrics, /healthz,
// /readyz) and the bounds on the metrics' label cardinality. The core
// uses only the bounds; the runtime serves the listener.
type MetricsConfig struct {
	// AdminListener is admin.listener, host:port ("" disables the
	// listener; port 0 takes any free port).
	AdminListener string
	// TopicsMax (metrics.topics.max) and GroupsMax (metrics.groups.max)
	// bound the topics and groups with series of their own; the rest
	// are summed under OtherLabel.
	TopicsMax int
	GroupsMax int
}

// DefaultAdminListener is admin.listener's default.
const DefaultAdminListener = "127.0.0.1:9644"

var metricsProperties = []property{
	{name: "admin.listener", def: DefaultAdminListener, apply: func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v != "" {
			i := strings.LastIndexByte(v, ':')
			if port, err := strconv.ParseUint(v[i+1:], 10, 16); i < 0 || err != nil || port > 65535 {
				return fmt.Errorf("admin.listener: %q is not host:port (or empty, to disable it)", v)
			}
		}
		c.Metrics.AdminListener = v
		return nil
	}},
	intProp("metrics.topics.max", "1000", 1, 1<<20, func(c *Config, n int64) { c.Metrics.TopicsMax = int(n) }, ""),
	intProp("metrics.groups.max", "1000", 1, 1<<20, func(c *Config, n int64) { c.Metrics.GroupsMax = int(n) }, ""),
}

func init() { properties = append(properties, metricsProperties...) }
