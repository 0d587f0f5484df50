package core

import (
	"fmt"
	"math"
	"strings"
)

// Client quota configuration, with Kafka's property names (quota.go).
type quotaConfig struct {
	// WindowNum samples of WindowSizeSeconds each make the window a
	// client's byte rate is measured over (quota.window.num,
	// quota.window.size.seconds).
	WindowNum         int
	WindowSizeSeconds int64
	// SensorsMax bounds the (user, client id) rates tracked
	// (quota.sensors.max); beyond it the idle ones are forgotten.
	SensorsMax int
}

var quotaProperties = []property{
	intProp("quota.window.num", "11", 1, math.MaxInt32, func(c *Config, n int64) { c.Quota.WindowNum = int(n) }, ""),
	intProp("quota.window.size.seconds", "1", 1, math.MaxInt32, func(c *Config, n int64) { c.Quota.WindowSizeSeconds = n }, ""),
	intProp("quota.sensors.max", "100000", 1, 1<<24, func(c *Config, n int64) { c.Quota.SensorsMax = int(n) }, ""),
	{name: "client.quota.callback.class", def: "", apply: func(_ *Config, v string) error {
		if v = strings.TrimSpace(v); v != "" {
			return fmt.Errorf("client.quota.callback.class: class %s cannot be found (quotas are Kafka's default ones, from the coordination store)", v)
		}
		return nil
	}},
}

func init() { properties = append(properties, quotaProperties...) }
