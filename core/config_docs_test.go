package core

import "testing"

// TestEveryConfigDocumented checks that every broker property and topic
// config has documentation, and that no entry documents a name that is
// neither.
func TestEveryConfigDocumented(t *testing.T) {
	known := make(map[string]bool, len(properties)+len(topicConfigs))
	for _, p := range properties {
		known[p.name] = true
	}
	for _, tc := range topicConfigs {
		known[tc.name] = true
	}
	for name := range known {
		if d := docOf(name); d == nil || *d == "" {
			t.Errorf("%s has no documentation", name)
		}
	}
	for name := range configDocs {
		if !known[name] {
			t.Errorf("configDocs documents %s, which is neither a broker property nor a topic config", name)
		}
	}
}
