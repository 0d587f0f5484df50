package core

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MetricsConfig is the runtime's HTTP admin listener (/metrics, /healthz,
// /readyz) and the bounds on the metrics' label cardinality. The core
// uses only the bounds; the runtime serves the listener.
type MetricsConfig struct {
	// AdminListener is admin.listener's host:port ("" disables the
	// listener; port 0 takes any free port). AdminTLS, when set (an
	// https:// admin.listener), is how it serves TLS: the
	// listener.name.admin.ssl.* properties, else the broker's ssl.* ones.
	AdminListener string
	AdminTLS      *TLSSettings
	// The web console on the admin listener (admin.console.*):
	// ConsoleEnable serves it; ConsoleListener names the listener its
	// clients connect to (empty: the first SASL listener, else the
	// first); ConsoleSessionsMax and ConsoleSessionIdleMs bound the
	// operators' sessions.
	ConsoleEnable        bool
	ConsoleListener      string
	ConsoleSessionsMax   int
	ConsoleSessionIdleMs int64
	// PprofEnable serves Go's profiles under /debug/pprof/
	// (admin.pprof.enable).
	PprofEnable bool
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
		c.Metrics.AdminTLS = nil
		if rest, ok := strings.CutPrefix(v, "https://"); ok {
			v, c.Metrics.AdminTLS = rest, &TLSSettings{} // resolved with the other TLS settings
		} else {
			v = strings.TrimPrefix(v, "http://")
		}
		if v != "" {
			i := strings.LastIndexByte(v, ':')
			if port, err := strconv.ParseUint(v[i+1:], 10, 16); i < 0 || err != nil || port > 65535 {
				return fmt.Errorf("admin.listener: %q is not [http://|https://]host:port (or empty, to disable it)", v)
			}
		}
		c.Metrics.AdminListener = v
		return nil
	}},
	boolProp("admin.console.enable", "true", func(c *Config, b bool) { c.Metrics.ConsoleEnable = b }),
	boolProp("admin.pprof.enable", "false", func(c *Config, b bool) { c.Metrics.PprofEnable = b }),
	intProp("buffer.pool.max.bytes", "67108864", 0, math.MaxInt64, func(c *Config, n int64) { c.BufferPoolMaxBytes = n }, ""),
	{name: "admin.console.listener", def: "", apply: func(c *Config, v string) error {
		c.Metrics.ConsoleListener = strings.TrimSpace(v)
		return nil
	}},
	intProp("admin.console.sessions.max", "64", 1, 1<<16, func(c *Config, n int64) { c.Metrics.ConsoleSessionsMax = int(n) }, ""),
	intProp("admin.console.session.idle.ms", "1800000", 1000, 1<<40, func(c *Config, n int64) { c.Metrics.ConsoleSessionIdleMs = n }, ""),
	intProp("metrics.topics.max", "1000", 1, 1<<20, func(c *Config, n int64) { c.Metrics.TopicsMax = int(n) }, ""),
	intProp("metrics.groups.max", "1000", 1, 1<<20, func(c *Config, n int64) { c.Metrics.GroupsMax = int(n) }, ""),
}

func init() { properties = append(properties, metricsProperties...) }

// resolveAdminTLS reads the admin listener's TLS settings (an https://
// admin.listener): listener.name.admin.ssl.* over ssl.*. The console's
// listener must be one of the broker's.
func (c *Config) resolveAdminTLS(set map[string]string) error {
	if c.Metrics.AdminTLS != nil {
		t, err := tlsSettingsFor(set, "admin")
		if err != nil {
			return fmt.Errorf("admin.listener: %v", err)
		}
		c.Metrics.AdminTLS = &t
	}
	if name := c.Metrics.ConsoleListener; name != "" {
		for _, e := range c.Listeners {
			if e.Listener == name {
				return nil
			}
		}
		return fmt.Errorf("admin.console.listener: %q is not one of the listeners", name)
	}
	return nil
}
