package realio

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The client quota APIs over the wire at every version.

func init() {
	versionCases[48] = versionCase{0, 1, testDescribeClientQuotas}
	versionCases[49] = versionCase{0, 1, testAlterClientQuotas}
}

// alterQuota sets key to value for the entity (type, name; nil name:
// the default entity) and returns the entry's error code.
func alterQuota(t *testing.T, c *client, v int16, typ string, name *string, key string, value float64) int16 {
	req := kmsg.NewPtrAlterClientQuotasRequest()
	e := kmsg.NewAlterClientQuotasRequestEntry()
	ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
	ent.Type, ent.Name = typ, name
	op := kmsg.NewAlterClientQuotasRequestEntryOp()
	op.Key, op.Value = key, value
	e.Entity, e.Ops = append(e.Entity, ent), append(e.Ops, op)
	req.Entries = append(req.Entries, e)
	resp := call[*kmsg.AlterClientQuotasResponse](t, c, v, req)
	if len(resp.Entries) != 1 {
		t.Fatalf("AlterClientQuotas v%d: got %d entries; want 1", v, len(resp.Entries))
	}
	return resp.Entries[0].ErrorCode
}

func describeQuotas(t *testing.T, c *client, v int16) []kmsg.DescribeClientQuotasResponseEntry {
	req := kmsg.NewPtrDescribeClientQuotasRequest()
	comp := kmsg.NewDescribeClientQuotasRequestComponent()
	comp.EntityType, comp.MatchType = "client-id", 2 // any
	req.Components = append(req.Components, comp)
	resp := call[*kmsg.DescribeClientQuotasResponse](t, c, v, req)
	checkCode(t, "DescribeClientQuotas", resp.ErrorCode, 0)
	return resp.Entries
}

func testAlterClientQuotas(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	app := "app"
	checkCode(t, "AlterClientQuotas producer_byte_rate", alterQuota(t, c, v, "client-id", &app, "producer_byte_rate", 2048), 0)
	checkCode(t, "AlterClientQuotas unknown key", alterQuota(t, c, v, "client-id", &app, "bogus_rate", 1), kerr.InvalidRequest.Code)
	got := describeQuotas(t, c, 1)
	if len(got) != 1 || len(got[0].Values) != 1 || got[0].Values[0].Key != "producer_byte_rate" || got[0].Values[0].Value != 2048 {
		t.Fatalf("after AlterClientQuotas v%d: described %+v; want app's producer_byte_rate 2048", v, got)
	}
}

func testDescribeClientQuotas(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	app := "app"
	alterQuota(t, c, 1, "client-id", &app, "consumer_byte_rate", 4096)
	alterQuota(t, c, 1, "client-id", nil, "request_percentage", 25)
	got := describeQuotas(t, c, v)
	if len(got) != 2 {
		t.Fatalf("DescribeClientQuotas v%d: got %+v; want app's and the default client id's", v, got)
	}
	for _, e := range got {
		if len(e.Entity) != 1 || e.Entity[0].Type != "client-id" || len(e.Values) != 1 {
			t.Errorf("DescribeClientQuotas v%d: entry %+v; want one client-id entity with one value", v, e)
		}
	}
}
