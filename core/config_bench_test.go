package core

import "testing"

// BenchmarkTopicSettings compares resolving a topic's store settings
// from its overrides and the broker's properties (as every effect once
// did) with reading the resolved settings (as the hot paths now do).
func BenchmarkTopicSettings(b *testing.B) {
	c := DefaultConfig()
	t := &topic{name: "t", configs: map[string]string{"retention.ms": "60000", "cleanup.policy": "compact"}}
	b.Run("resolve", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.resolveLogConfig(t)
		}
	})
	b.Run("resolved", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.logConfig(t)
		}
	})
}

// TestTopicSettingsFollowChanges: resolved settings follow a change of
// the topic's overrides and of the broker's dynamic configuration.
func TestTopicSettingsFollowChanges(t *testing.T) {
	b, err := New(DefaultConfig(), Recovered{})
	if err != nil {
		t.Fatal(err)
	}
	tp := &topic{name: "t", configs: map[string]string{}}
	if got := b.cfg.logConfig(tp).RetentionMs; got != 604800000 {
		t.Fatalf("retention: got %d; want the default 604800000", got)
	}
	tp.setConfigs(map[string]string{"retention.ms": "60000"})
	if got := b.cfg.logConfig(tp).RetentionMs; got != 60000 {
		t.Errorf("retention after the override: got %d; want 60000", got)
	}
	tp.setConfigs(map[string]string{})
	b.setBrokerDynamic(map[string]string{"log.retention.ms": "120000"}, nil)
	if got := b.cfg.logConfig(tp).RetentionMs; got != 120000 {
		t.Errorf("retention after a cluster-wide change: got %d; want 120000", got)
	}
	if got := b.cfg.logConfig(tp).FileDeleteDelayMs; got != 60000 {
		t.Errorf("file.delete.delay.ms: got %d; want the default 60000", got)
	}
	b.setBrokerDynamic(map[string]string{"log.segment.delete.delay.ms": "500"}, nil)
	if got := b.cfg.logConfig(tp).FileDeleteDelayMs; got != 500 {
		t.Errorf("file.delete.delay.ms after a cluster-wide change: got %d; want 500", got)
	}
	tp.setConfigs(map[string]string{"file.delete.delay.ms": "0"})
	if got := b.cfg.logConfig(tp).FileDeleteDelayMs; got != 0 {
		t.Errorf("file.delete.delay.ms after the override: got %d; want 0", got)
	}
	tp.setConfigs(map[string]string{})
	b.setBrokerDynamic(nil, map[string]string{"message.max.bytes": "5000"})
	if got := b.cfg.settingsOf(tp).maxMessageBytes; got != 5000 {
		t.Errorf("max.message.bytes after this broker's change: got %d; want 5000", got)
	}
}
